_Alignas(8192) char other_8k[10];
_Alignas(32) int other_32[4] = { 10, 20, 30, 40 };
char filler = 1;
