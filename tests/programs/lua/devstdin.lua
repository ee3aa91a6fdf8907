local f = assert(io.open("/dev/stdin", "rb"))
io.write(f:read("a"))
f:close()
