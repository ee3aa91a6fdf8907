var n: uint64 = 0
while true:
  inc n
