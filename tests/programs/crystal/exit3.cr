STDERR.puts "bye"
exit 3
