(define (greet name)
  (display (string-append "Hello, " name))

(greet "World")
