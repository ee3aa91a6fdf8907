(define (first lst)
  (car lst))

(display (first '()))
