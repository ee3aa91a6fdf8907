SELECT readfile('/dev/stdin');
