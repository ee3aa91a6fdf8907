#lang racket

(for ([arg (current-command-line-arguments)])
  (displayln arg))
