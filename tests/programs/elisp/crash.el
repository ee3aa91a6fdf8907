(defun first-name (user)
  (car (alist-get 'name user)))

(princ (first-name '((name . "ada"))))
