#lang racket

(display (port->string (current-input-port)))
