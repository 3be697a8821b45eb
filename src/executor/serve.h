/*
 * executor/serve.h — rivet_session_serve (rivet/rt.h) with a tick, for
 * rivet-executor --fd, which watches for its parent's end without a
 * thread of its own.
 */
#ifndef RIVET_EXECUTOR_SERVE_H
#define RIVET_EXECUTOR_SERVE_H

#include "rivet/rt.h"

typedef struct rv_serve_tick {
    /* Runs on a thread reading the connection, at least every period_ms
     * while one reads, also when nothing arrives. It must not block. */
    void (*fn)(void *ctx);
    void *ctx;
    int period_ms;
} rv_serve_tick;

/* rivet_session_serve; `tick` may be NULL. */
rivet_error *rv_session_serve_ticking(rivet_session *s, int fd,
                                      const rivet_serve_options *opts,
                                      const rv_serve_tick *tick);

#endif
