(with-temp-buffer
  (insert-file-contents "/dev/stdin")
  (princ (buffer-string)))
