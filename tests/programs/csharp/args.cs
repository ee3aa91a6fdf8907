using System;

class Args
{
    static void Main(string[] args)
    {
        foreach (string arg in args)
            Console.WriteLine(arg);
    }
}
