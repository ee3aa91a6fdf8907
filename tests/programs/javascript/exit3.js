process.stderr.write("bye\n");
process.exitCode = 3;
