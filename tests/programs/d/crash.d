// An exception nobody catches: the runtime prints it and exits nonzero.
void main()
{
    throw new Exception("something went wrong");
}
