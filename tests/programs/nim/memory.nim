# Keeps allocating 16 MiB blocks and touching them, holding on to every one.
import std/algorithm

var blocks: seq[seq[byte]]
while true:
  blocks.add newSeq[byte](16 shl 20)
  blocks[^1].fill(1'u8)
