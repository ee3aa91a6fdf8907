local chunks = {}
while true do
  chunks[#chunks + 1] = string.rep("x", 16 << 20) .. #chunks
end
