(defun first-of (list)
  (car list))

(print (first-of 5))
