void main()
{
    ulong n = 0;
    for (;;)
    {
        n++;
    }
}
