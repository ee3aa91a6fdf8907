note "bye";
exit 3;
