# Keeps allocating 16 MiB blocks, filled (so touched), holding on to every one.
blocks = [] of Bytes
loop do
  blocks << Bytes.new(16 << 20, 1_u8)
end
