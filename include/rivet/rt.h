/*
 * rivet/rt.h — librivet-rt, the executor runtime.
 *
 * The executor is the process JIT'd code runs in: rivet's own process for
 * in-process use, or `rivet-executor`. Its root object is the session:
 *
 *   session ── owns ──> services (memory map, dylib manager, unwind
 *      │                registrar, notifications, ...), created in order,
 *      │                shut down in reverse order
 *      ├── bootstrap symbol table: name -> executor address of each wrapper
 *      │   function and service instance the controller may call
 *      └── controller access: how calls reach the controller (in-process
 *          or over a stream); see rivet/controller.h
 *
 * Lifecycle: a controller attaches, later detaches (or vanishes), then the
 * session shuts down. Every service gets on_detach before on_shutdown — also
 * when no controller ever attached — and services are notified in reverse
 * order of their addition. Shutdown first waits until every keepalive taken
 * by callers of JIT'd code has been released.
 *
 * Wrapper functions are the single calling convention between the halves:
 * argument bytes in, result bytes out (SPS, see rivet/sps.h), returned
 * asynchronously through a return function and matched by a caller-chosen
 * 64-bit call id.
 *
 * Errors: fallible calls return rivet_error* (NULL on success). Nothing in
 * this library prints, exits or aborts.
 *
 * Thread-safety: every rivet_session_* and service call may be made from any
 * thread; services serialize internally.
 */
#ifndef RIVET_RT_H
#define RIVET_RT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rivet/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rivet_session rivet_session;
typedef struct rivet_service rivet_service;

/* ---------------------------------------------------------------- services */

/* A service is anything the session owns and notifies. Embed
 * `rivet_service` as the first member of the implementation. */
typedef struct rivet_service_ops {
    const char *name;
    /* The controller detached (or was never attached). Must not fail. */
    void (*on_detach)(rivet_service *svc, rivet_session *s);
    /* The session is shutting down: release every resource. */
    void (*on_shutdown)(rivet_service *svc, rivet_session *s);
    /* Free the service object itself (after on_shutdown). */
    void (*destroy)(rivet_service *svc);
} rivet_service_ops;

struct rivet_service {
    const rivet_service_ops *ops;
};

/* ----------------------------------------------------------------- session */

/* Create an empty session (no services). */
rivet_error *rivet_session_create(rivet_session **out);

/* Add the standard services, in this order: notifications, dylib manager,
 * unwind registrar, program runner, thread-local storage, memory map.
 * Registers their wrapper functions, action functions and instances in the
 * bootstrap symbol table.
 * The memory map comes last so it shuts down first: its regions' dealloc
 * actions (finalizers, EH frame deregistration) still find the libraries
 * and services they need. */
rivet_error *rivet_session_add_standard_services(rivet_session *s);

/* Add a service; the session takes ownership (also on failure). Fails with
 * RIVET_ERR_STATE once shutdown has begun. */
rivet_error *rivet_session_add_service(rivet_session *s, rivet_service *svc);

/* Find a service by its ops->name; NULL if absent. */
rivet_service *rivet_session_find_service(rivet_session *s, const char *name);

/* The bootstrap symbol table: names the controller learns at attach time. */
rivet_error *rivet_session_add_bootstrap_symbol(rivet_session *s,
                                                const char *name,
                                                uint64_t addr);
bool rivet_session_lookup_bootstrap_symbol(rivet_session *s, const char *name,
                                           uint64_t *addr);
size_t rivet_session_bootstrap_symbol_count(rivet_session *s);
/* i-th entry (stable order of addition); name stays owned by the session */
void rivet_session_bootstrap_symbol_at(rivet_session *s, size_t i,
                                       const char **name, uint64_t *addr);

/* Is `addr` the address of a wrapper function announced in the bootstrap
 * table? The stream transport refuses calls to anything else. */
bool rivet_session_is_wrapper_function(rivet_session *s, uint64_t addr);

/* Mark the controller as attached. */
void rivet_session_attach(rivet_session *s);
/* Controller detached: each service's on_detach runs, in reverse order of
 * addition. Idempotent. */
void rivet_session_detach(rivet_session *s);
/* Detach if still attached, wait for all keepalives, then on_shutdown in
 * reverse order. Idempotent. */
void rivet_session_shutdown(rivet_session *s);
/* Shut down (if not yet) and free everything, services included. */
void rivet_session_destroy(rivet_session *s);

/* Keepalives: code calling into JIT'd code holds one for the duration.
 * Acquire fails with RIVET_ERR_STATE once shutdown has begun. */
rivet_error *rivet_session_keepalive_acquire(rivet_session *s);
void rivet_session_keepalive_release(rivet_session *s);

/* ------------------------------------------------------- wrapper functions */

/* Result bytes of a wrapper call, malloc'd; ownership passes to whoever
 * receives them. An out-of-band failure (the call never ran: bad address,
 * transport gone) sets `error` instead and leaves data NULL. */
typedef struct rivet_wrapper_result {
    char *data;
    size_t size;
    rivet_error *error;
} rivet_wrapper_result;

typedef void (*rivet_wrapper_return_fn)(void *return_ctx, uint64_t call_id,
                                        rivet_wrapper_result result);

/* Every controller->executor call lands in a function of this type. It may
 * call `ret` before returning or later from another thread, exactly once. */
typedef void (*rivet_wrapper_fn)(rivet_session *s, uint64_t call_id,
                                 rivet_wrapper_return_fn ret, void *return_ctx,
                                 const char *arg, size_t arg_size);

/* Add a bootstrap symbol that is a rivet_wrapper_fn: only these may be
 * called through rivet_session_call_wrapper or a transport. */
rivet_error *rivet_session_add_wrapper_function(rivet_session *s,
                                                const char *name,
                                                rivet_wrapper_fn fn);

/* Like rivet_session_add_wrapper_function, for a wrapper that may run for
 * an unbounded time (it runs JIT'd code: run_main, run_function). Stream
 * transports run such calls on a thread of their own; every other wrapper
 * runs on the thread reading the transport and must answer promptly (or
 * answer later from another thread). */
rivet_error *rivet_session_add_blocking_wrapper_function(rivet_session *s,
                                                         const char *name,
                                                         rivet_wrapper_fn fn);
/* Was the wrapper at `addr` added as blocking? */
bool rivet_session_wrapper_blocks(rivet_session *s, uint64_t addr);

/* Call the wrapper function at executor address `fn` in this process.
 * Calls to an address not announced by rivet_session_add_wrapper_function
 * return an out-of-band error (result.error) without running anything. */
void rivet_session_call_wrapper(rivet_session *s, uint64_t fn, uint64_t call_id,
                                rivet_wrapper_return_fn ret, void *return_ctx,
                                const char *arg, size_t arg_size);

/* ------------------------------------------------ calls to the controller */

/* Executor -> controller calls name a *tag* the controller registered a
 * handler for (rivet_executor_register_handler, rivet/controller.h), never
 * an address: JIT'd code can reach only what the controller exposed. The
 * transport installs the access that carries them: the in-process executor
 * calls the handler directly; rivet_session_serve sends CALL frames. */
typedef struct rivet_controller_access {
    void *ctx;
    /* Call the handler for `tag`; ret runs exactly once (result.error when
     * no handler has that tag or the controller is gone). */
    void (*call)(void *ctx, const char *tag, uint64_t call_id,
                 rivet_wrapper_return_fn ret, void *return_ctx,
                 const char *arg, size_t arg_size);
    /* Optional: call and wait. A transport whose reader thread may itself
     * be the caller provides it, so the wait keeps reading. */
    rivet_error *(*call_sync)(void *ctx, const char *tag, const char *arg,
                              size_t arg_size, char **result,
                              size_t *result_size);
} rivet_controller_access;

/* Install (copied) or, with NULL, remove the controller access. Removal
 * waits until no thread is inside access->call or call_sync. */
void rivet_session_set_controller_access(rivet_session *s,
                                         const rivet_controller_access *access);

/* Call the controller's handler for `tag` with argument bytes; `ret`
 * receives the result bytes (or result.error: no controller attached, no
 * such tag, connection lost) exactly once, with `call_id`. */
void rivet_session_call_controller(rivet_session *s, const char *tag,
                                   uint64_t call_id, rivet_wrapper_return_fn ret,
                                   void *return_ctx, const char *arg,
                                   size_t arg_size);
/* The same, waiting for the answer: *result is malloc'd (caller frees). */
rivet_error *rivet_session_call_controller_sync(rivet_session *s,
                                                const char *tag,
                                                const char *arg, size_t arg_size,
                                                char **result,
                                                size_t *result_size);

/* The session a controller most recently attached to in this process (NULL
 * if none is alive): how JIT'd code finds its session to call the
 * controller. */
rivet_session *rivet_session_attached(void);

/* ----------------------------------------------------------------- serving */

typedef struct rivet_serve_options {
    /* Runs on the reader thread the moment the connection ends, after the
     * session detached (why: NULL for a clean hangup; borrowed). A spawned
     * executor ends its process here when its controller vanished. */
    void (*on_end)(void *ctx, const rivet_error *why);
    void *ctx;
} rivet_serve_options;

/* Serve one controller over `fd`, a connected stream socket (socketpair or
 * TCP): send the SETUP frame (target triple, page size, bootstrap symbol
 * table; docs/wire-protocol.md), attach, and answer calls until the
 * controller hangs up or the connection fails; then detach at once.
 *
 * Frames are read by the calling thread while it is idle and by a thread
 * of serve's own while it runs JIT'd code; wrappers run inline on
 * whichever reads, except blocking ones (JIT'd code: initialize's constructors, run_main),
 * which run on the calling thread when it is free — so constructors, main
 * and destructors share one thread, as in a native program — and on a
 * fresh thread otherwise. Serve returns once the connection has ended and
 * the calling thread's current call has finished.
 *
 * Returns NULL after a clean hangup, else why the connection ended
 * (malformed frame, call to an address that is not a wrapper function,
 * end of stream without hangup). The caller keeps `fd` and the session:
 * close the one, and shut down (or reuse) the other; wrappers still
 * running on other threads hold keepalives, so shutdown waits for them.
 * `opts` may be NULL. */
rivet_error *rivet_session_serve(rivet_session *s, int fd,
                                 const rivet_serve_options *opts);

/* Allocation actions run synchronously inside the executor. The argument is
 * SPS bytes; the return value is NULL on success or a malloc'd message. */
typedef char *(*rivet_action_fn)(const char *arg, size_t arg_size);

typedef struct rivet_action_call {
    uint64_t fn; /* executor address of a rivet_action_fn */
    const char *arg;
    size_t arg_size;
} rivet_action_call;

/* A finalize action runs at initialize; its dealloc action (fn may be 0) is
 * recorded and run at deinitialize, pairs in reverse order. */
typedef struct rivet_action_pair {
    rivet_action_call finalize;
    rivet_action_call dealloc;
} rivet_action_pair;

/* -------------------------------------------------------------- memory map */

typedef struct rivet_memory_map rivet_memory_map;

enum {
    RIVET_PROT_READ = 1,
    RIVET_PROT_WRITE = 2,
    RIVET_PROT_EXEC = 4,
};

/* Where a slab must lie. */
typedef enum rivet_placement {
    RIVET_PLACE_ANYWHERE = 0,
    /* within +-2 GiB of the shared libraries loaded in the executor (so
     * small-code-model references to libc data reach) */
    RIVET_PLACE_NEAR_LIBRARIES = 1,
    /* entirely below 2 GiB (absolute 32-bit relocations, -fno-pic) */
    RIVET_PLACE_LOW_2G = 2,
} rivet_placement;

typedef struct rivet_segment {
    uint64_t addr; /* page aligned; the segment owns every page it touches */
    uint64_t size;
    /* Bytes to copy to addr; the rest of [addr, addr+size) is zero-filled.
     * With in_place set the controller already wrote the whole segment at
     * addr (in-process linking, or a controller on this machine writing
     * into this process's memory directly): nothing is copied or zeroed
     * and content is ignored. Reserved memory starts zeroed, so bss needs
     * no writing. */
    const void *content;
    uint64_t content_size;
    uint8_t prot; /* RIVET_PROT_*; never WRITE|EXEC */
    bool in_place;
} rivet_segment;

typedef struct rivet_initialize_request {
    const rivet_segment *segments;
    size_t segment_count;
    const rivet_action_pair *actions;
    size_t action_count;
} rivet_initialize_request;

/* The memory map service (also registered by add_standard_services; find it
 * with rivet_session_find_service(s, "memory_map")). */
rivet_error *rivet_memory_map_create(rivet_memory_map **out);
rivet_service *rivet_memory_map_service(rivet_memory_map *mm);
rivet_memory_map *rivet_memory_map_from_service(rivet_service *svc);

/* Reserve `size` bytes of address space (rounded up to pages). The memory is
 * private, readable and writable until initialized, so a controller in this
 * process, or one on this machine allowed to write this process's memory,
 * can write content in place. */
rivet_error *rivet_memory_map_reserve(rivet_memory_map *mm, uint64_t size,
                                      rivet_placement placement,
                                      uint64_t *addr);
/* Copy content, apply protections, flush the instruction cache, run the
 * finalize actions in order and record the dealloc actions. Every segment
 * must lie in one reserved slab and not overlap an initialized region. On
 * failure nothing stays initialized (finalize actions already run have their
 * dealloc actions run in reverse). The region is named by *region_addr, the
 * lowest segment address. */
rivet_error *rivet_memory_map_initialize(rivet_memory_map *mm,
                                         const rivet_initialize_request *req,
                                         uint64_t *region_addr);
/* Run the region's dealloc actions in reverse, make its memory reusable
 * (zeroed, read-write). Errors from several regions are all reported. */
rivet_error *rivet_memory_map_deinitialize(rivet_memory_map *mm,
                                           uint64_t region_addr);
rivet_error *rivet_memory_map_deinitialize_multiple(rivet_memory_map *mm,
                                                    const uint64_t *regions,
                                                    size_t count);
/* Deinitialize what is left in the slab and give it back to the system. */
rivet_error *rivet_memory_map_release(rivet_memory_map *mm, uint64_t slab_addr);
rivet_error *rivet_memory_map_release_multiple(rivet_memory_map *mm,
                                               const uint64_t *slabs,
                                               size_t count);

/* ------------------------------------------------------------ dylib manager */

typedef struct rivet_dylib_manager rivet_dylib_manager;
rivet_error *rivet_dylib_manager_create(rivet_dylib_manager **out);
rivet_service *rivet_dylib_manager_service(rivet_dylib_manager *dm);
/* Open a library (NULL path: the executor process itself). Handles are
 * closed at shutdown. */
rivet_error *rivet_dylib_manager_open(rivet_dylib_manager *dm, const char *path,
                                      uint64_t *handle);
/* Look up many names in one call; addrs[i] is 0 where a name is absent. */
rivet_error *rivet_dylib_manager_lookup(rivet_dylib_manager *dm,
                                        uint64_t handle, const char *const *names,
                                        size_t count, uint64_t *addrs);

/* ---------------------------------------------------------- notifications */

typedef struct rivet_notify_service rivet_notify_service;
typedef void (*rivet_notify_fn)(void *ctx);
rivet_error *rivet_notify_service_create(rivet_notify_service **out);
rivet_service *rivet_notify_service_service(rivet_notify_service *ns);
/* Callbacks run in the order added (detach ones at detach, shutdown ones at
 * shutdown). Add the service to the session where its notifications should
 * fall relative to other services. */
rivet_error *rivet_notify_service_on_detach(rivet_notify_service *ns,
                                            rivet_notify_fn fn, void *ctx);
rivet_error *rivet_notify_service_on_shutdown(rivet_notify_service *ns,
                                              rivet_notify_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
