// Copies standard input line by line, each line with its own terminator.
import std.stdio;

void main()
{
    foreach (line; stdin.byLine(KeepTerminator.yes))
        write(line);
}
