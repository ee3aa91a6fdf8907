import std/os

for i in 1 .. paramCount():
  echo paramStr(i)
