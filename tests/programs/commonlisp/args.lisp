(dolist (arg (rest sb-ext:*posix-argv*))
  (write-line arg))
