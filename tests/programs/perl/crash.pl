use strict;
use warnings;

sub divide { my ($a, $b) = @_; return $a / $b }
print divide(1, 0), "\n";
