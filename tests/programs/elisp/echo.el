;; In batch mode read-from-minibuffer reads a line of stdin; at the end it signals an error.
(condition-case nil
    (while t
      (princ (read-from-minibuffer ""))
      (terpri))
  (error nil))
