process.stderr.write("bye\n");
process.exit(3);
