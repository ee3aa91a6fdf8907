#lang racket

(let loop ([chunks '()])
  (loop (cons (make-bytes (* 16 1024 1024) 1) chunks)))
