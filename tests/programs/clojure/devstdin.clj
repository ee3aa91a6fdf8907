(print (slurp "/dev/stdin"))
(flush)
