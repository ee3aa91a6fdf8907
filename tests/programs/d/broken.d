import std.stdio;

void main()
{
    int x = "not a number";
    writeln(x);
}
