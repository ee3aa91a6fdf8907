<?php

declare(strict_types=1);

function helloWorld(string $name = 'World'): string
{
    return "Hello, {$name}!";
}
