(format *error-output* "bye~%")
(sb-ext:exit :code 3)
