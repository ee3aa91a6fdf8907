print STDERR "bye\n";
exit 3;
