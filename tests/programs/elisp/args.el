(dolist (arg command-line-args-left)
  (princ arg)
  (terpri))
