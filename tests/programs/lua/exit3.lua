io.stderr:write("bye\n")
os.exit(3)
