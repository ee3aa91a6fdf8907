(with-open-file (in "/dev/stdin")
  (loop for c = (read-char in nil nil)
        while c
        do (write-char c)))
