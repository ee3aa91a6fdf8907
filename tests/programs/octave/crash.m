x = [1 2 3];
printf("%d\n", x(5));
