puts -nonewline [read stdin]
