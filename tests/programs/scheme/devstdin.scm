(use-modules (ice-9 textual-ports))

(display (call-with-input-file "/dev/stdin" get-string-all))
