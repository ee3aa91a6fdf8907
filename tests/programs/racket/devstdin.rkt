#lang racket

(display (file->string "/dev/stdin"))
