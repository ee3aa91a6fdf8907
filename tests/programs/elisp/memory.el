(let (chunks)
  (while t
    (push (make-string (* 16 1024 1024) ?x) chunks)))
