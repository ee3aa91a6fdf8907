#lang racket

(eprintf "bye\n")
(exit 3)
