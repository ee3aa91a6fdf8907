s" bye" stderr write-line throw
3 (bye)
