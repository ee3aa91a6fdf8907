#lang racket

(displayln "Hello, World!")
