/*
 * tests/fuzz/fuzz_elf.c — libFuzzer target: link arbitrary bytes as an ELF
 * object, the way `rivet run --noexec` would.
 *
 * Malformed input must only make rivet_jit_add_buffer or rivet_jit_link
 * return an error; a valid object links and is torn down again. Nothing of
 * the input is ever called: initializers and IFUNC resolvers are switched
 * off (rivet_jit_set_run_initializers), so a crash is always rivet's own.
 */
#include <stddef.h>
#include <stdint.h>

#include "rivet/rivet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rivet_jit *jit;
    rivet_error *e = rivet_jit_create(NULL, &jit);
    if (e) {
        rivet_error_free(e); /* e.g. no address space: not the input's fault */
        return 0;
    }
    rivet_jit_set_run_initializers(jit, false);
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
