using System;
using System.IO;

class Devstdin
{
    static void Main()
    {
        Console.Write(File.ReadAllText("/dev/stdin"));
    }
}
