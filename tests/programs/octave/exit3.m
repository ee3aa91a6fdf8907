fprintf(stderr, "bye\n");
exit(3);
