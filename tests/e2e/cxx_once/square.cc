int slow_square(int v) {
    volatile int s = 0;
    for (int i = 0; i < v; i++) s += v;
    return s;
}
