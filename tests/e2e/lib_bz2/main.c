/* libbz2.a: buffer-to-buffer compress and decompress, and a damaged
 * stream. */
#include <bzlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    enum { N = 200000 };
    char *src = malloc(N), *packed = malloc(N + N / 100 + 600), *back = malloc(N);
    unsigned x = 12345;
    for (int i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        src[i] = "abcdefgh"[(x >> 16) % 8 % (1 + i / 20000)];
    }
    unsigned plen = N + N / 100 + 600;
    int rc = BZ2_bzBuffToBuffCompress(packed, &plen, src, N, 9, 0, 30);
    printf("compress rc %d, %d -> %u bytes, magic %.3s\n", rc, N, plen, packed);
    unsigned blen = N;
    rc = BZ2_bzBuffToBuffDecompress(back, &blen, packed, plen, 0, 0);
    printf("decompress rc %d, %u bytes, %s\n", rc, blen,
           blen == N && memcmp(src, back, N) == 0 ? "equal" : "DIFFERENT");
    blen = N;
    rc = BZ2_bzBuffToBuffDecompress(back, &blen, packed, plen, 1, 0);
    printf("decompress (small) rc %d, %s\n", rc, memcmp(src, back, N) == 0 ? "equal" : "DIFFERENT");
    packed[plen / 2] ^= 0x55;
    blen = N;
    rc = BZ2_bzBuffToBuffDecompress(back, &blen, packed, plen, 0, 0);
    printf("corrupt decompress rc %d\n", rc);
    printf("version %s\n", strncmp(BZ2_bzlibVersion(), "1.0", 3) == 0 ? "1.0.x" : "?");
    free(src); free(packed); free(back);
    return 0;
}
