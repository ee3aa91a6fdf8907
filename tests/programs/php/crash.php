<?php
function divide(int $a, int $b): int
{
    return intdiv($a, $b);
}

echo divide(1, 0), "\n";
