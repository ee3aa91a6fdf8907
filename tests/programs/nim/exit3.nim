stderr.writeLine "bye"
quit 3
