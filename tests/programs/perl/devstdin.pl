open(my $in, '<:raw', '/dev/stdin') or die "cannot open /dev/stdin: $!";
binmode STDOUT;
print while <$in>;
