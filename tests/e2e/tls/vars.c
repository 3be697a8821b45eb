__thread int counter = 100;
__thread char name[16];
_Thread_local long big[64] = {1, 2, 3};
static __thread int private_count;
int bump_private(void) { return ++private_count; }
int *counter_address(void) { return &counter; }
