/* bench/programs/crypto.c — SHA-256, AES-128 and EVP SHA-512 from libcrypto.a
 * for bench/realworld.sh and the archive tests. */
#include <stdio.h>
#include <string.h>
#include <openssl/sha.h>
#include <openssl/aes.h>
#include <openssl/evp.h>
int main(void) {
  unsigned char md[64]; const char *s = "abc";
  SHA256((const unsigned char*)s, 3, md);
  for (int i = 0; i < 32; i++) printf("%02x", md[i]); printf("\n");
  unsigned char key[16] = "0123456789abcdef", in[16] = "plaintext block!", out[16];
  AES_KEY k; AES_set_encrypt_key(key, 128, &k); AES_encrypt(in, out, &k); /* deprecated, still exported */
  for (int i = 0; i < 16; i++) printf("%02x", out[i]); printf("\n");
  EVP_MD_CTX *c = EVP_MD_CTX_new(); unsigned int n; EVP_DigestInit_ex(c, EVP_sha512(), NULL); EVP_DigestUpdate(c, s, 3); EVP_DigestFinal_ex(c, md, &n); EVP_MD_CTX_free(c);
  printf("sha512 len %u first %02x\n", n, md[0]);
  return 0;
}
