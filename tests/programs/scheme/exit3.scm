(display "bye\n" (current-error-port))
(exit 3)
