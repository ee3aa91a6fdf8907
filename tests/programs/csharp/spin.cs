class Spin
{
    static void Main()
    {
        long n = 0;
        for (;;)
            n++;
    }
}
