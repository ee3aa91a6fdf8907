// Keeps allocating 16 MiB blocks and touching them, holding on to every one.
void main()
{
    ubyte[][] blocks;
    for (;;)
    {
        auto b = new ubyte[16 << 20];
        b[] = 1;
        blocks ~= b;
    }
}
