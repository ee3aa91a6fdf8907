// Reads /dev/stdin as a named file.
import std.stdio;

void main()
{
    foreach (line; File("/dev/stdin").byLine(KeepTerminator.yes))
        write(line);
}
