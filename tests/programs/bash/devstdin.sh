cat /dev/stdin
