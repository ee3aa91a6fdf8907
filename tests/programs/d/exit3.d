import std.stdio;

int main()
{
    stderr.writeln("bye");
    return 3;
}
