/*
 * tests/fuzz/fuzz_elf.c — libFuzzer target: link arbitrary bytes as an ELF
 * object, the way `rivet run --noexec` would.
 *
 * Malformed input must only make rivet_jit_add_buffer or rivet_jit_link
 * return an error; a valid object links and is torn down again. Nothing of
 * the input is ever called: inputs that would make the link itself run code
 * (init/fini arrays, .ctors/.dtors, STT_GNU_IFUNC resolvers) are skipped, so
 * a crash is always rivet's own.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rivet/rivet.h"

enum { SHT_SYMTAB_ = 2, SHT_INIT_ARRAY_ = 14, SHT_FINI_ARRAY_ = 15,
       SHT_PREINIT_ARRAY_ = 16, STT_GNU_IFUNC_ = 10 };

static uint64_t read_le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

static bool in_file(uint64_t off, uint64_t len, size_t size)
{
    return off <= size && len <= size - off;
}

/* Any symbol table entry in bounds with type STT_GNU_IFUNC? */
static bool symtab_has_ifunc(const uint8_t *d, size_t size, const uint8_t *sh)
{
    uint64_t off = read_le(sh + 24, 8), len = read_le(sh + 32, 8);
    if (!in_file(off, len, size))
        len = off < size ? size - off : 0;
    for (uint64_t i = 0; i + 24 <= len; i += 24)
        if ((d[off + i + 4] & 0xf) == STT_GNU_IFUNC_)
            return true;
    return false;
}

/* Would linking these bytes run code from them? Conservative: any section
 * name mentioning an initializer or finalizer list anywhere in the bytes,
 * or any section header (as rivet reads them: e_shoff, e_shnum, 64-byte
 * entries) of an array type, or any IFUNC symbol. */
static bool would_run_code(const uint8_t *d, size_t size)
{
    static const char *const names[] = {"init_array", "fini_array", "ctors",
                                        "dtors"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (memmem(d, size, names[i], strlen(names[i])))
            return true;
    if (size < 64)
        return false;
    uint64_t shoff = read_le(d + 40, 8), shnum = read_le(d + 60, 2);
    for (uint64_t i = 0; i < shnum && in_file(shoff + 64 * i, 64, size); i++) {
        const uint8_t *sh = d + shoff + 64 * i;
        uint32_t type = (uint32_t)read_le(sh + 4, 4);
        if (type == SHT_INIT_ARRAY_ || type == SHT_FINI_ARRAY_ ||
            type == SHT_PREINIT_ARRAY_)
            return true;
        if (type == SHT_SYMTAB_ && symtab_has_ifunc(d, size, sh))
            return true;
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (would_run_code(data, size))
        return 0;
    rivet_jit *jit;
    rivet_error *e = rivet_jit_create(NULL, &jit);
    if (e) {
        rivet_error_free(e); /* e.g. no address space: not the input's fault */
        return 0;
    }
    e = rivet_jit_add_buffer(jit, "fuzz.o", data, size);
    if (!e)
        e = rivet_jit_link(jit, NULL);
    if (e) {
        /* Errors must carry a message. */
        if (!rivet_error_message(e) || !rivet_error_message(e)[0])
            __builtin_trap();
        rivet_error_free(e);
    }
    rivet_jit_destroy(jit);
    return 0;
}
