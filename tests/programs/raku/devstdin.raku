print '/dev/stdin'.IO.slurp;
