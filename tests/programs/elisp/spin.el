(let ((n 0))
  (while t
    (setq n (1+ n))))
