my @chunks;
push @chunks, 'x' x (16 << 20) while 1;
