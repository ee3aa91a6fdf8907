chunks = []
loop
  chunks.push Buffer.alloc 16 << 20, 1
