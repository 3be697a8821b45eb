/* The other object's thread-locals, reached from main.c as externs. */
__thread int other = 42;
__thread char other_buf[64];

int other_bump(int by)
{
    return other += by;
}

int *other_address(void)
{
    return &other;
}
