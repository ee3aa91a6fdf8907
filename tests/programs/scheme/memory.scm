(use-modules (rnrs bytevectors))

(let loop ((chunks '()))
  (loop (cons (make-bytevector (* 16 1024 1024) 1) chunks)))
