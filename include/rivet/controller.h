/*
 * rivet/controller.h — executors in other processes, and handlers that
 * JIT'd code in any executor can call.
 *
 * An out-of-process executor is `rivet-executor` (or any program serving a
 * session with rivet_session_serve, or a third-party implementation of
 * docs/wire-protocol.md) reached over a socket. A jit over it works as over
 * an in-process executor: links are placed in the executor's memory and
 * sent in one initialize call each; symbols are looked up there; main runs
 * there, with the executor's stdin, stdout and stderr.
 *
 *     rivet_executor *ex;
 *     rivet_error *e = rivet_executor_spawn(NULL, &ex);
 *     rivet_jit *jit;
 *     if (!e) e = rivet_jit_create(ex, &jit);
 *     ... add files, link, rivet_jit_run_main ...
 *     rivet_jit_destroy(jit);
 *     rivet_executor_destroy(ex);   // hang up; the child exits, is reaped
 *
 * Failures of the executor (it died, the connection broke, it sent a
 * malformed frame) fail the calls in flight and every later call with
 * RIVET_ERR_EXECUTOR (a spawned executor's death reads "executor exited
 * (signal 9)" or "(status N)"); nothing blocks forever.
 *
 * Thread-safety: calls on one executor may come from several threads and
 * be in flight at once.
 */
#ifndef RIVET_CONTROLLER_H
#define RIVET_CONTROLLER_H

#include <stdbool.h>
#include <stdint.h>

#include "rivet/rivet.h"
#include "rivet/rt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Start `path` (NULL: rivet-executor next to the running program, else
 * found on $PATH) as a child connected by a socketpair. The child inherits
 * stdin, stdout and stderr. rivet_executor_destroy hangs up and reaps it.
 *
 * Any thread may spawn, and the executor outlives that thread: it is tied
 * to the controller's *process*. rivet-executor exits at once when the
 * connection ends without a hangup (the controller died or closed it),
 * and within 200 ms when the controller's process has ended even though
 * the socket is still open somewhere (a forked copy of the controller
 * holding it): it checks getppid() against the parent it started with.
 * PR_SET_PDEATHSIG is not used because the kernel ties it to the thread
 * that forked, not the process. A custom `path` should likewise exit on
 * end of stream. */
rivet_error *rivet_executor_spawn(const char *path, rivet_executor **out);

/* Connect to `rivet-executor --listen HOST:PORT`. */
rivet_error *rivet_executor_connect_tcp(const char *host, uint16_t port,
                                        rivet_executor **out);

/* Use an already connected stream socket (the executor end must serve the
 * protocol); the executor takes ownership of `fd`, also on failure. */
rivet_error *rivet_executor_connect_fd(int fd, rivet_executor **out);

/* A controller-side handler: the target of executor -> controller calls
 * (rivet_session_call_controller). Answer exactly once through
 * ret(return_ctx, call_id, result) with malloc'd bytes — now or later from
 * another thread. Over a stream it runs on whichever thread is reading the
 * connection (its reader thread, or a thread waiting in a call to the
 * executor), so it must not block for long. */
typedef void (*rivet_handler_fn)(void *ctx, uint64_t call_id,
                                 rivet_wrapper_return_fn ret, void *return_ctx,
                                 const char *arg, size_t arg_size);

/* Expose `fn` to code in the executor under `tag`. Only registered tags
 * can be called; a call to any other tag fails in the executor.
 * RIVET_ERR_DUPLICATE if the tag (or its 64-bit wire hash) is taken. */
rivet_error *rivet_executor_register_handler(rivet_executor *ex,
                                             const char *tag,
                                             rivet_handler_fn fn, void *ctx);

/* End a program the way its process would have: ask the executor process
 * to call exit(status) — exit handlers, destructors and stdio flushing run
 * there, as after main returns in a native program — and wait until it
 * has exited. Executors that do not offer this (in-process, a listening
 * rivet-executor) are only hung up on. NULL when the process ended with
 * exactly `status` or was not to end. The executor is then unusable except
 * for rivet_executor_destroy. */
rivet_error *rivet_executor_exit(rivet_executor *ex, int status);

/* Has the executor's process ended (a spawned child only)? Sets the raw
 * wait status (WIFEXITED/WIFSIGNALED apply). */
bool rivet_executor_exit_status(rivet_executor *ex, int *wait_status);

#ifdef __cplusplus
}
#endif
#endif
