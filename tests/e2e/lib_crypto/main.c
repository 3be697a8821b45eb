/* libcrypto.a: SHA-256 (one shot and EVP), AES-128-CBC through EVP
 * (encrypt, decrypt, round trip), HMAC-SHA256 and a random-bytes call. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

static void hex(const char *label, const unsigned char *p, int n) {
    printf("%s ", label);
    for (int i = 0; i < n; i++) printf("%02x", p[i]);
    printf("\n");
}

int main(void) {
    unsigned char md[EVP_MAX_MD_SIZE];
    SHA256((const unsigned char *)"abc", 3, md);
    hex("sha256(abc)", md, 32);

    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned n;
    EVP_DigestInit_ex(c, EVP_sha256(), NULL);
    for (int i = 0; i < 1000; i++) EVP_DigestUpdate(c, "rivet", 5);
    EVP_DigestFinal_ex(c, md, &n);
    EVP_MD_CTX_free(c);
    hex("sha256(rivet x1000)", md, (int)n);

    const unsigned char key[16] = "0123456789abcdef", iv[16] = "fedcba9876543210";
    const char *msg = "JIT-linked code calling libcrypto's AES";
    unsigned char enc[128], dec[128];
    int len, total;
    EVP_CIPHER_CTX *e = EVP_CIPHER_CTX_new();
    EVP_EncryptInit_ex(e, EVP_aes_128_cbc(), NULL, key, iv);
    EVP_EncryptUpdate(e, enc, &len, (const unsigned char *)msg, (int)strlen(msg));
    total = len;
    EVP_EncryptFinal_ex(e, enc + total, &len);
    total += len;
    hex("aes-128-cbc", enc, total);
    EVP_DecryptInit_ex(e, EVP_aes_128_cbc(), NULL, key, iv);
    int dlen;
    EVP_DecryptUpdate(e, dec, &dlen, enc, total);
    int dtotal = dlen;
    EVP_DecryptFinal_ex(e, dec + dtotal, &dlen);
    dtotal += dlen;
    EVP_CIPHER_CTX_free(e);
    printf("decrypted \"%.*s\"\n", dtotal, dec);

    unsigned hlen;
    HMAC(EVP_sha256(), "key", 3, (const unsigned char *)"The quick brown fox jumps over the lazy dog",
         43, md, &hlen);
    hex("hmac-sha256", md, (int)hlen);

    unsigned char rnd[32];
    printf("RAND_bytes %d\n", RAND_bytes(rnd, sizeof rnd));
    return 0;
}
