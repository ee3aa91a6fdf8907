using System;

class Exit3
{
    static void Main()
    {
        Console.Error.WriteLine("bye");
        Environment.Exit(3);
    }
}
