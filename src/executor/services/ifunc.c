/*
 * executor/services/ifunc.c — STT_GNU_IFUNC resolution for JIT'd code.
 *
 * A link refers to each of its IFUNC symbols through a stub that jumps via
 * a writable slot (link/ifunc.c). Once the link's memory is initialized
 * the resolver can run; its answer goes into the slot, once, before any
 * initializer of the link runs. The x86-64 C runtime calls resolvers with
 * no arguments (glibc: elf_ifunc_invoke), and so does rivet.
 */
#include <string.h>

#include "executor/services/services.h"

typedef uint64_t (*resolver_fn)(void);

rivet_error *rv_ifunc_resolve(const uint64_t *pairs, size_t pair_count)
{
    for (size_t i = 0; i < pair_count; i++) {
        uint64_t resolver = pairs[2 * i], slot = pairs[2 * i + 1];
        if (!resolver || !slot || slot % 8)
            return rivet_error_create(RIVET_ERR_MALFORMED,
                                      "ifunc: bad resolver 0x%llx or slot 0x%llx",
                                      (unsigned long long)resolver,
                                      (unsigned long long)slot);
        uint64_t target = ((resolver_fn)(uintptr_t)resolver)();
        if (!target)
            return rivet_error_create(RIVET_ERR_GENERIC,
                                      "ifunc: resolver at 0x%llx returned null",
                                      (unsigned long long)resolver);
        memcpy((void *)(uintptr_t)slot, &target, sizeof target);
    }
    return NULL;
}
