/* Checks the controller's typed executor calls over an in-process
 * executor: memory map round trip, symbol lookup, running functions,
 * errors with context, and wrappers that answer from another thread. */
#include <stdlib.h>
#include <string.h>
#include <threads.h>

#include "check.h"
#include "controller/executor.h"

#define PAGE 4096

static int seven(void) { return 7; }

static int count_args(int argc, char **argv, char **envp)
{
    return argc == 2 && strcmp(argv[1], "x") == 0 && envp != NULL ? 11 : -1;
}

static void test_round_trip(void)
{
    rivet_executor *ex;
    CHECK_OK(rivet_executor_create_in_process(&ex));
    CHECK(ex->in_process && ex->page_size >= PAGE && ex->process_handle != 0);
    uint64_t slab = 0, region = 0;
    CHECK_OK(rv_executor_reserve(ex, 2 * PAGE, RIVET_PLACE_NEAR_LIBRARIES, &slab));
    rivet_segment seg = {slab, PAGE, "abc", 3, RIVET_PROT_READ, false};
    rivet_initialize_request req = {&seg, 1, NULL, 0};
    CHECK_OK(rv_executor_initialize(ex, &req, &region));
    CHECK(region == slab && memcmp((void *)(uintptr_t)slab, "abc", 3) == 0);
    rivet_error *e = rv_executor_initialize(ex, &req, &region);
    CHECK(e && rivet_error_get_code(e) == RIVET_ERR_EXECUTOR &&
          strncmp(rivet_error_message(e), "executor: initialize: ", 22) == 0);
    rivet_error_free(e);
    CHECK_OK(rv_executor_deinitialize_multiple(ex, &region, 1));
    CHECK_FAILS(rv_executor_deinitialize_multiple(ex, &region, 1), RIVET_ERR_EXECUTOR);
    CHECK_OK(rv_executor_release_multiple(ex, &slab, 1));

    const char *names[2] = {"free", "no_such_symbol_in_rivet_tests"};
    uint64_t addrs[2] = {0, 1};
    CHECK_OK(rv_executor_lookup_symbols(ex, names, 2, addrs));
    CHECK(addrs[0] != 0 && addrs[1] == 0);

    int v = 0;
    CHECK_OK(rv_executor_run_function(ex, (uint64_t)(uintptr_t)seven, &v));
    CHECK(v == 7);
    char *argv[] = {"prog", "x", NULL};
    CHECK_OK(rv_executor_run_main(ex, (uint64_t)(uintptr_t)count_args, 2, argv,
                                  NULL, &v));
    CHECK(v == 11);
    rivet_executor_destroy(ex);
}

static void test_bind_reports_missing(void)
{
    rivet_session *s;
    rivet_executor *ex = NULL;
    CHECK_OK(rivet_session_create(&s));
    rivet_error *e = rivet_executor_create_for_session(s, &ex);
    CHECK(e && rivet_error_get_code(e) == RIVET_ERR_NOT_FOUND);
    CHECK(e && strstr(rivet_error_message(e), "rivet_memory_map_reserve_sps") &&
          strstr(rivet_error_message(e), "rivet_run_finalizers"));
    rivet_error_free(e);
    rivet_session_destroy(s);
}

struct later {
    rivet_wrapper_return_fn ret;
    void *ctx;
    uint64_t id;
};

static int answer_later(void *arg)
{
    struct later *l = arg;
    struct timespec ts = {0, 20 * 1000000L};
    thrd_sleep(&ts, NULL);
    rivet_wrapper_result r = {malloc(2), 2, NULL};
    memcpy(r.data, "ok", 2);
    l->ret(l->ctx, l->id, r);
    return 0;
}

static struct later pending;
static thrd_t answering;

static void async_wrapper(rivet_session *s, uint64_t id,
                          rivet_wrapper_return_fn ret, void *ctx,
                          const char *arg, size_t n)
{
    (void)s; (void)arg; (void)n;
    pending = (struct later){ret, ctx, id};
    thrd_create(&answering, answer_later, &pending);
}

static void test_async_answer(void)
{
    rivet_session *s;
    rivet_executor *ex;
    CHECK_OK(rivet_session_create(&s));
    CHECK_OK(rivet_session_add_standard_services(s));
    CHECK_OK(rivet_session_add_wrapper_function(s, "async", async_wrapper));
    CHECK_OK(rivet_executor_create_for_session(s, &ex));
    char *out = NULL;
    size_t n = 0;
    CHECK_OK(ex->ops->call(ex, (uint64_t)(uintptr_t)async_wrapper, "", 0, &out, &n));
    CHECK(n == 2 && out && memcmp(out, "ok", 2) == 0);
    free(out);
    thrd_join(answering, NULL);
    CHECK_FAILS(ex->ops->call(ex, 0x1234, "", 0, &out, &n), RIVET_ERR_NOT_FOUND);
    rivet_executor_destroy(ex);
    rivet_session_destroy(s);
}

int main(void)
{
    test_round_trip();
    test_bind_reports_missing();
    test_async_answer();
    return check_report("test_executor");
}
