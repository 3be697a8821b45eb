/*
 * executor/services/services.h — internal interfaces of the standard
 * services that rivet/rt.h does not publish: the unwind registrar, the
 * program runner, and slab placement for the memory map.
 *
 * The controller interface (executor/ci/) calls these after decoding;
 * nothing here sees wire bytes.
 */
#ifndef RIVET_EXECUTOR_SERVICES_H
#define RIVET_EXECUTOR_SERVICES_H

#include <stdint.h>

#include "rivet/rt.h"

/* Map `size` bytes (a page multiple) of read-write memory per `placement`. */
rivet_error *rv_place_slab(uint64_t size, rivet_placement placement,
                           uint64_t *addr);

/* ------------------------------------------------------- unwind registrar */

/* The service only marks the registrar's place in shutdown order; the
 * registry of frames is process-wide because the C runtime's is. */
rivet_error *rv_unwind_registrar_create(rivet_service **out);
/* Register the .eh_frame section [start, end) (ends with a zero word). */
rivet_error *rv_unwind_register(uint64_t start, uint64_t end);
/* Deregister a section registered before; anything else is an error (the
 * C runtime would abort). */
rivet_error *rv_unwind_deregister(uint64_t start, uint64_t end);
/* If libgcc would skip an FDE of the .eh_frame section [start, end) whose
 * function exists (its PC begin is zero in the low 32 bits:
 * eh_frame_wide.c), *copy is a malloc'd equivalent section with 8-byte
 * addresses, which libgcc reads whole; otherwise, and for sections beyond
 * what the re-encoding understands, NULL. Fails only for lack of memory. */
rivet_error *rv_eh_frame_widen_hidden(uint64_t start, uint64_t end,
                                      void **copy);

/* ---------------------------------------------------------- program runner */

/* An array of function pointers in executor memory, [start, end). */
typedef struct rv_fn_array {
    uint64_t start, end;
} rv_fn_array;

typedef struct rv_program_arrays {
    uint64_t dso_handle;
    rv_fn_array preinit, init, ctors, fini, dtors;
} rv_program_arrays;

rivet_error *rv_program_runner_create(rivet_service **out);
/* Register the fini/dtors runner for dso_handle with __cxa_atexit, then run
 * preinit_array, init_array (in order) and .ctors (in reverse). */
rivet_error *rv_program_run_initializers(const rv_program_arrays *a);
/* Run every exit handler registered for dso_handle (the fini runner too). */
rivet_error *rv_program_run_finalizers(uint64_t dso_handle);
/* Call int main(argc, argv, envp) at `fn` holding a session keepalive.
 * argv and envp are NULL-terminated; envp NULL passes the process's own. */
rivet_error *rv_program_run_main(rivet_session *s, uint64_t fn, int argc,
                                 char **argv, char **envp, int *status);
/* Call int f(void) at `fn` holding a session keepalive. */
rivet_error *rv_program_run_function(rivet_session *s, uint64_t fn,
                                     int *result);

/* ------------------------------------------------------------------- TLS */

/* A block of rivet's static TLS arena. */
typedef struct rv_tls_reservation {
    uint64_t key;     /* names the block in the calls below */
    uint64_t module;  /* TLS module id for {module, offset} GOT pairs */
    int64_t tpoff;    /* offset of the block from the thread pointer */
} rv_tls_reservation;

rivet_error *rv_tls_service_create(rivet_service **out);
/* Reserve `size` bytes aligned to `align` (at most the arena's alignment);
 * RIVET_ERR_NOMEM when the arena is full. */
rivet_error *rv_tls_reserve(rivet_service *svc, uint64_t size, uint64_t align,
                            rv_tls_reservation *out);
/* Free a block (clearing its image if still registered). */
rivet_error *rv_tls_release(uint64_t key);
/* Make [image, image+image_size) then zeros the block's initial contents:
 * for threads created from now on and for the calling thread. */
rivet_error *rv_tls_register(uint64_t key, uint64_t image, uint64_t image_size);
/* Zero the block's initial contents again. */
rivet_error *rv_tls_unregister(uint64_t key);
/* The TLS module id of every block of the arena. */
uint64_t rv_tls_static_module(void);
/* __tls_get_addr for JIT'd code: ti points at {module, offset}. */
void *rv_tls_get_addr(const uint64_t *ti);
/* The TLS descriptor function for blocks in the arena (0: none). */
uint64_t rv_tls_desc_function(void);
/* Thread-locals of the executor's own libraries, by name
 * (sys/posix/tls_host.c): module id, offset, and the thread-pointer offset
 * when the module's TLS is static (placed there first if still possible).
 * `out` is an array of `count` struct rv_sys_host_tls (sys/sys.h). */
struct rv_sys_host_tls;
rivet_error *rv_tls_host_lookup(const char *const *names, size_t count,
                                struct rv_sys_host_tls *out);

/* ------------------------------------------------------------------ IFUNC */

/* For each (resolver, slot) pair: call the STT_GNU_IFUNC resolver and
 * store the address it returns in the 8-byte slot (writable memory). */
rivet_error *rv_ifunc_resolve(const uint64_t *pairs, size_t pair_count);

#endif
