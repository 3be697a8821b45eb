/* Checks the session lifecycle: on_detach before on_shutdown (also with no
 * attach), reverse order of addition, notification-service ordering,
 * keepalives holding off shutdown, and the bootstrap table. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <time.h>

#include "check.h"
#include "rivet/rt.h"

static char event_log[256];
static int destroyed;

static void log_event(const char *what)
{
    strncat(event_log, what, sizeof(event_log) - strlen(event_log) - 1);
}

/* A service named by one letter that logs "d<letter>" and "s<letter>". */
typedef struct letter_service {
    rivet_service service;
    char name[2];
} letter_service;

static void letter_detach(rivet_service *svc, rivet_session *s)
{
    (void)s;
    char ev[4] = {'d', ((letter_service *)svc)->name[0], ' ', 0};
    log_event(ev);
}

static void letter_shutdown(rivet_service *svc, rivet_session *s)
{
    (void)s;
    char ev[4] = {'s', ((letter_service *)svc)->name[0], ' ', 0};
    log_event(ev);
}

static void letter_destroy(rivet_service *svc)
{
    destroyed++;
    free(svc);
}

static const rivet_service_ops letter_ops[3] = {
    {"A", letter_detach, letter_shutdown, letter_destroy},
    {"B", letter_detach, letter_shutdown, letter_destroy},
    {"C", letter_detach, letter_shutdown, letter_destroy},
};

static rivet_service *letter(char c)
{
    letter_service *ls = calloc(1, sizeof(*ls));
    ls->service.ops = &letter_ops[c - 'A'];
    ls->name[0] = c;
    return &ls->service;
}

static rivet_session *session_with(const char *letters)
{
    rivet_session *s;
    CHECK_OK(rivet_session_create(&s));
    for (const char *p = letters; *p; p++)
        CHECK_OK(rivet_session_add_service(s, letter(*p)));
    event_log[0] = '\0';
    return s;
}

static void test_order_without_attach(void)
{
    rivet_session *s = session_with("ABC");
    destroyed = 0;
    rivet_session_destroy(s);
    CHECK(strcmp(event_log, "dC dB dA sC sB sA ") == 0);
    CHECK(destroyed == 3);
}

static void test_attach_detach_idempotent(void)
{
    rivet_session *s = session_with("AB");
    CHECK(rivet_session_find_service(s, "B") != NULL);
    CHECK(rivet_session_find_service(s, "Z") == NULL);
    rivet_session_attach(s);
    rivet_session_detach(s);
    rivet_session_detach(s);
    CHECK(strcmp(event_log, "dB dA ") == 0);
    rivet_session_shutdown(s);
    rivet_session_shutdown(s);
    CHECK(strcmp(event_log, "dB dA sB sA ") == 0);
    destroyed = 0;
    CHECK_FAILS(rivet_session_add_service(s, letter('C')), RIVET_ERR_STATE);
    CHECK(destroyed == 1); /* ownership passed even on failure */
    rivet_session_destroy(s);
}

static void note(void *ctx)
{
    log_event(ctx);
}

static void test_notify_ordering(void)
{
    rivet_session *s = session_with("A");
    rivet_notify_service *ns;
    CHECK_OK(rivet_notify_service_create(&ns));
    CHECK_OK(rivet_session_add_service(s, rivet_notify_service_service(ns)));
    CHECK_OK(rivet_session_add_service(s, letter('B')));
    CHECK_OK(rivet_notify_service_on_detach(ns, note, "n1 "));
    CHECK_OK(rivet_notify_service_on_detach(ns, note, "n2 "));
    CHECK_OK(rivet_notify_service_on_shutdown(ns, note, "x1 "));
    CHECK_OK(rivet_notify_service_on_shutdown(ns, note, "x2 "));
    rivet_session_destroy(s);
    CHECK(strcmp(event_log, "dB n1 n2 dA sB x1 x2 sA ") == 0);
}

struct shutdown_thread {
    rivet_session *s;
    atomic_int finished;
};

static int run_shutdown(void *arg)
{
    struct shutdown_thread *t = arg;
    rivet_session_shutdown(t->s);
    t->finished = 1;
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {0, ms * 1000000L};
    thrd_sleep(&ts, NULL);
}

static void test_keepalive_blocks_shutdown(void)
{
    rivet_session *s = session_with("A");
    CHECK_OK(rivet_session_keepalive_acquire(s));
    struct shutdown_thread t = {s, 0};
    thrd_t th;
    CHECK(thrd_create(&th, run_shutdown, &t) == thrd_success);
    /* detach runs before the wait; shutdown must not finish meanwhile */
    for (int i = 0; i < 200 && strstr(event_log, "dA") == NULL; i++)
        sleep_ms(5);
    sleep_ms(50);
    CHECK(strcmp(event_log, "dA ") == 0);
    CHECK(!t.finished);
    CHECK_FAILS(rivet_session_keepalive_acquire(s), RIVET_ERR_STATE);
    rivet_session_keepalive_release(s);
    thrd_join(th, NULL);
    CHECK(t.finished);
    CHECK(strcmp(event_log, "dA sA ") == 0);
    CHECK_FAILS(rivet_session_keepalive_acquire(s), RIVET_ERR_STATE);
    rivet_session_destroy(s);
}

static void echo_wrapper(rivet_session *s, uint64_t call_id,
                         rivet_wrapper_return_fn ret, void *ctx,
                         const char *arg, size_t arg_size)
{
    (void)s;
    rivet_wrapper_result r = {malloc(arg_size + 1), arg_size, NULL};
    memcpy(r.data, arg, arg_size);
    ret(ctx, call_id, r);
}

static rivet_wrapper_result last_result;
static uint64_t last_call_id;

static void keep_result(void *ctx, uint64_t call_id, rivet_wrapper_result r)
{
    (void)ctx;
    last_result = r;
    last_call_id = call_id;
}

static void test_bootstrap_and_calls(void)
{
    rivet_session *s = session_with("");
    static int instance;
    uint64_t addr = 0;
    const char *name;
    CHECK_OK(rivet_session_add_bootstrap_symbol(s, "instance", (uint64_t)(uintptr_t)&instance));
    CHECK_OK(rivet_session_add_wrapper_function(s, "echo", echo_wrapper));
    CHECK(rivet_session_bootstrap_symbol_count(s) == 2);
    rivet_session_bootstrap_symbol_at(s, 1, &name, &addr);
    CHECK(strcmp(name, "echo") == 0 && addr == (uint64_t)(uintptr_t)echo_wrapper);
    CHECK(rivet_session_lookup_bootstrap_symbol(s, "instance", &addr) &&
          addr == (uint64_t)(uintptr_t)&instance);
    CHECK(!rivet_session_lookup_bootstrap_symbol(s, "missing", &addr));
    CHECK(rivet_session_is_wrapper_function(s, (uint64_t)(uintptr_t)echo_wrapper));
    CHECK(!rivet_session_is_wrapper_function(s, (uint64_t)(uintptr_t)&instance));
    rivet_session_call_wrapper(s, (uint64_t)(uintptr_t)echo_wrapper, 7,
                               keep_result, NULL, "hi", 2);
    CHECK(last_call_id == 7 && last_result.size == 2 &&
          memcmp(last_result.data, "hi", 2) == 0 && !last_result.error);
    free(last_result.data);
    rivet_session_call_wrapper(s, (uint64_t)(uintptr_t)&instance, 8,
                               keep_result, NULL, "hi", 2);
    CHECK(last_call_id == 8 && !last_result.data && last_result.error);
    rivet_error_free(last_result.error);
    rivet_session_destroy(s);
}

static void test_standard_services(void)
{
    rivet_session *s;
    CHECK_OK(rivet_session_create(&s));
    CHECK_OK(rivet_session_add_standard_services(s));
    CHECK(rivet_session_find_service(s, "memory_map") != NULL);
    CHECK(rivet_session_find_service(s, "dylib_manager") != NULL);
    CHECK(rivet_session_find_service(s, "notify") != NULL);
    uint64_t addr;
    CHECK(rivet_session_lookup_bootstrap_symbol(s, "rivet_run_main_sps", &addr) &&
          rivet_session_is_wrapper_function(s, addr));
    CHECK(rivet_session_lookup_bootstrap_symbol(s, "rivet_run_initializers", &addr) &&
          !rivet_session_is_wrapper_function(s, addr));
    rivet_session_destroy(s);
}

int main(void)
{
    test_order_without_attach();
    test_attach_detach_idempotent();
    test_notify_ordering();
    test_keepalive_blocks_shutdown();
    test_bootstrap_and_calls();
    test_standard_services();
    return check_report("test_session");
}
