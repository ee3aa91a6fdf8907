#lang racket

(define (first-of lst)
  (car lst))

(displayln (first-of '()))
