set f [open /dev/stdin r]
puts -nonewline [read $f]
close $f
