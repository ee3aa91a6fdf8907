sub divide($a, $b) { $a div $b }
say divide(1, 0);
