<?php

declare(strict_types=1);

function helloWorld(string $name = 'World'): string
{
    if ($name === 'Bo') {
        throw new InvalidArgumentException('no Bo');
    }
    return "Hello, {$name}";
}
