/*
 * controller/executor.h — the controller's view of an executor.
 *
 * The linker talks to the executor only through this interface: calls to
 * wrapper functions by executor address, plus typed helpers that encode a
 * request in SPS, make the call and decode the answer. The transport is
 * behind `rv_executor_ops`: in-process (a direct call into a rivet_session
 * in this process) today; a stream to rivet-executor adds another ops table
 * and nothing else changes.
 */
#ifndef RIVET_CONTROLLER_EXECUTOR_H
#define RIVET_CONTROLLER_EXECUTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <threads.h>

#include "rivet/controller.h"
#include "rivet/rivet.h"
#include "rivet/rt.h"

typedef struct rv_executor_ops {
    /* Call the wrapper function at `fn`; waits for and returns its result
     * bytes (malloc'd, caller frees). */
    rivet_error *(*call)(rivet_executor *ex, uint64_t fn, const char *arg,
                         size_t arg_size, char **result, size_t *result_size);
    void (*destroy)(rivet_executor *ex);
    /* Optional (rivet/controller.h); NULL: hang up only / never ends. */
    rivet_error *(*exit)(rivet_executor *ex, int status);
    bool (*exit_status)(rivet_executor *ex, int *wait_status);
    /* Optional: finish connecting (a spawned executor is still starting
     * while the controller reads its inputs); NULL: always ready. */
    rivet_error *(*ready)(rivet_executor *ex);
    /* Optional: send a call and return at once; `ret(ctx, 0, result)` runs
     * exactly once with the answer or the failure, possibly on another
     * thread. NULL: calls are made one at a time with `call`. */
    void (*call_async)(rivet_executor *ex, uint64_t fn, const char *arg,
                       size_t arg_size, rivet_wrapper_return_fn ret, void *ctx);
} rv_executor_ops;

/* Handlers registered for executor -> controller calls. */
typedef struct rv_handler {
    char *tag;
    uint64_t hash; /* rv_tag_hash(tag): the name on the wire */
    rivet_handler_fn fn;
    void *ctx;
} rv_handler;

/* Addresses learned from the bootstrap symbol table at attach. */
typedef struct rv_executor_addrs {
    uint64_t memory_map;            /* instance */
    uint64_t reserve, initialize, deinitialize_multiple, release_multiple;
    uint64_t dylib_manager;         /* instance */
    uint64_t dylib_open, dylib_lookup;
    uint64_t run_main;              /* wrapper: call main(argc, argv, envp) */
    uint64_t run_function;          /* wrapper: call a void(void)/int(void) */
    /* allocation action functions (rivet_action_fn) */
    uint64_t register_eh_frame, deregister_eh_frame;
    uint64_t run_initializers, run_finalizers;
    uint64_t symbol_info;           /* wrapper: sizes/types of library data */
    uint64_t copy_relocate, copy_relocate_undo;
    /* thread-local storage and IFUNC (docs/tls.md) */
    uint64_t tls_service;           /* instance */
    uint64_t tls_static_module;     /* a value: module id of rivet's TLS */
    uint64_t tls_reserve, tls_release;         /* wrappers */
    uint64_t tls_host_lookup;                  /* wrapper */
    uint64_t tls_register, tls_unregister;     /* actions */
    uint64_t tls_get_addr, tls_desc_static;    /* called by JIT'd code */
    uint64_t run_ifunc_resolvers;              /* action */
} rv_executor_addrs;

struct rivet_executor {
    const rv_executor_ops *ops;
    rv_executor_addrs addrs;
    uint64_t page_size;
    bool in_process; /* working memory may be the target memory itself */
    /* The executor's process id when it runs on this machine (a spawned
     * child, the peer of a local socket), else 0: links may be written
     * into its memory directly (rv_sys_write_process) instead of sent. */
    uint64_t local_pid;
    /* A direct write was refused (no right to the process): send bytes. */
    bool no_direct_writes;
    /* dylib handle of the executor process itself (opened by bind), the
     * scope rv_executor_lookup_symbols searches */
    uint64_t process_handle;
    mtx_t handlers_lock;
    rv_handler *handlers;
    size_t handler_count;
};

/* Set up / free the parts of the base every executor has (handlers). */
rivet_error *rv_executor_init_base(rivet_executor *ex);
void rv_executor_free_base(rivet_executor *ex);
/* Run the handler registered under the tag whose hash is `tag_hash`; an
 * unknown tag is answered with result.error. */
void rv_executor_call_handler(rivet_executor *ex, uint64_t tag_hash,
                              uint64_t call_id, rivet_wrapper_return_fn ret,
                              void *return_ctx, const char *arg,
                              size_t arg_size);

/* Fill ex->addrs from a bootstrap table lookup function (every missing
 * name is reported), then open the executor process's own dylib handle;
 * ex->ops must be set. */
rivet_error *rv_executor_bind(rivet_executor *ex,
                              bool (*lookup)(void *ctx, const char *name,
                                             uint64_t *addr),
                              void *ctx);

/* Wait until the executor is connected and ex->addrs is filled in; every
 * use of ex->addrs or call through ex->ops comes after it. */
rivet_error *rv_executor_ready(rivet_executor *ex);

rivet_error *rv_executor_reserve(rivet_executor *ex, uint64_t size,
                                 rivet_placement placement, uint64_t *addr);
/* The same in two steps, so the round trip overlaps other work: start the
 * call, then finish it exactly once (waits for the answer, frees *call). */
typedef struct rv_pending_call rv_pending_call;
rivet_error *rv_executor_reserve_start(rivet_executor *ex, uint64_t size,
                                       rivet_placement placement,
                                       rv_pending_call **call);
rivet_error *rv_executor_reserve_finish(rv_pending_call *call, uint64_t *addr);
rivet_error *rv_executor_initialize(rivet_executor *ex,
                                    const rivet_initialize_request *req,
                                    uint64_t *region);
rivet_error *rv_executor_deinitialize_multiple(rivet_executor *ex,
                                               const uint64_t *regions,
                                               size_t count);
rivet_error *rv_executor_release_multiple(rivet_executor *ex,
                                          const uint64_t *slabs, size_t count);
/* Look up `count` names in the executor's process in one call; addrs[i] = 0
 * where absent. */
rivet_error *rv_executor_lookup_symbols(rivet_executor *ex,
                                        const char *const *names, size_t count,
                                        uint64_t *addrs);
/* Size and STT_* type of the library symbol at each address (0 when
 * unknown), in one call. */
rivet_error *rv_executor_symbol_info(rivet_executor *ex, const uint64_t *addrs,
                                     size_t count, uint64_t *sizes,
                                     uint8_t *types);
/* Reserve a block of the executor's static TLS arena: its key, TLS
 * module id and offset from the thread pointer. */
rivet_error *rv_executor_tls_reserve(rivet_executor *ex, uint64_t size,
                                     uint64_t align, uint64_t *key,
                                     uint64_t *module, int64_t *tpoff);
rivet_error *rv_executor_tls_release(rivet_executor *ex, uint64_t key);
/* A thread-local defined by the executor's own libraries. */
typedef struct rv_host_tls_info {
    bool found;        /* false: not defined, or not thread-local */
    bool is_static;    /* in static TLS: tpoff is valid in every thread */
    uint64_t module;   /* the executor's C runtime's module id */
    uint64_t offset;   /* in the module's TLS block */
    int64_t tpoff;     /* of the variable, when static */
    char *library;     /* malloc'd: the defining library (messages) */
    char *why;         /* malloc'd: why it is not static, or "" */
} rv_host_tls_info;
/* Look `count` thread-local names up in the executor's process, asking for
 * static TLS for their modules (docs/tls.md). On success every out[i] owns
 * its strings: free them with rv_host_tls_info_free. */
rivet_error *rv_executor_tls_host_lookup(rivet_executor *ex,
                                         const char *const *names,
                                         size_t count, rv_host_tls_info *out);
void rv_host_tls_info_free(rv_host_tls_info *info, size_t count);
/* Call `main` at `fn` with argv/envp (NULL-terminated), get its status.
 * envp NULL (or empty) runs main with the executor's own environment. */
rivet_error *rv_executor_run_main(rivet_executor *ex, uint64_t fn, int argc,
                                  char *const *argv, char *const *envp,
                                  int *status);
/* Call `int f(void)` at `fn`, get its return value. */
rivet_error *rv_executor_run_function(rivet_executor *ex, uint64_t fn,
                                      int *result);
/* Open a shared library in the executor (path NULL: the process itself);
 * the handle stays open until the executor shuts down. */
rivet_error *rv_executor_open_library(rivet_executor *ex, const char *path,
                                      uint64_t *handle);
/* Look up `count` names in one opened library; addrs[i] = 0 where absent. */
rivet_error *rv_executor_lookup_in_library(rivet_executor *ex, uint64_t handle,
                                           const char *const *names,
                                           size_t count, uint64_t *addrs);

#endif
