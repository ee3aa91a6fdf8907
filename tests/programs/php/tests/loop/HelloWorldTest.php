<?php

declare(strict_types=1);

use PHPUnit\Framework\TestCase;

class HelloWorldTest extends TestCase
{
    public static function setUpBeforeClass(): void
    {
        require_once 'HelloWorld.php';
    }

    public function testHelloWorld(): void
    {
        $this->assertEquals('Hello, World!', helloWorld());
    }

    public function testHelloName(): void
    {
        echo "greeting Ann\n";
        $this->assertEquals('Hello, Ann!', helloWorld('Ann'));
    }

    /**
     * @dataProvider names
     */
    public function testHelloMany(string $name): void
    {
        $this->assertStringContainsString($name, helloWorld($name));
    }

    public function names(): array
    {
        return [['Bo'], ['Cy']];
    }
}
