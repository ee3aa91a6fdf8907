(print (slurp *in*))
(flush)
