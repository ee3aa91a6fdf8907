(message "bye")
(kill-emacs 3)
