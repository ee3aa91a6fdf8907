#lang racket

(define (greet name)
  (displayln (string-append "Hello, " nme)))

(greet "World")
