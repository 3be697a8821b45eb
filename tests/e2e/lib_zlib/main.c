/* libz.a: compress/uncompress and a streaming deflate/inflate round trip,
 * crc32 and adler32. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int main(void) {
    enum { N = 100000 };
    unsigned char *src = malloc(N), *packed = malloc(compressBound(N)), *back = malloc(N);
    for (int i = 0; i < N; i++)
        src[i] = (unsigned char)("the quick brown fox "[i % 20] ^ (i / 1000 % 3));
    printf("crc32 %08lx adler32 %08lx\n", crc32(0, src, N), adler32(1, src, N));

    uLongf plen = compressBound(N);
    int rc = compress2(packed, &plen, src, N, 9);
    printf("compress2 rc %d, %d -> %lu bytes\n", rc, N, (unsigned long)plen);
    uLongf blen = N;
    rc = uncompress(back, &blen, packed, plen);
    printf("uncompress rc %d, %lu bytes, %s\n", rc, (unsigned long)blen,
           blen == N && memcmp(src, back, N) == 0 ? "equal" : "DIFFERENT");

    /* streaming, gzip wrapper, small buffers */
    z_stream zs = {0};
    deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    unsigned char out[4096], *gz = malloc(2 * N);
    size_t gzlen = 0;
    zs.next_in = src;
    zs.avail_in = N;
    do {
        zs.next_out = out;
        zs.avail_out = sizeof out;
        rc = deflate(&zs, Z_FINISH);
        memcpy(gz + gzlen, out, sizeof out - zs.avail_out);
        gzlen += sizeof out - zs.avail_out;
    } while (rc == Z_OK);
    deflateEnd(&zs);
    printf("deflate(gzip) rc %d, %zu bytes, magic %02x%02x\n", rc, gzlen, gz[0], gz[1]);

    z_stream is = {0};
    inflateInit2(&is, 15 + 32);
    is.next_in = gz;
    is.avail_in = (uInt)gzlen;
    is.next_out = back;
    is.avail_out = N;
    rc = inflate(&is, Z_FINISH);
    printf("inflate rc %d, %lu bytes, %s\n", rc, is.total_out,
           is.total_out == N && memcmp(src, back, N) == 0 ? "equal" : "DIFFERENT");
    inflateEnd(&is);

    /* a corrupt stream is reported, not crashed on */
    packed[plen / 2] ^= 0xff;
    blen = N;
    rc = uncompress(back, &blen, packed, plen);
    printf("corrupt uncompress rc %d\n", rc);
    free(src); free(packed); free(back); free(gz);
    return 0;
}
