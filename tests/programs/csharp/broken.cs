using System;

class Broken
{
    static void Main()
    {
        int x = "s";
        Console.WriteLine(x)
    }
}
