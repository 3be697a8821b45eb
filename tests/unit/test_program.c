/* Checks the program runner's ordering: preinit, init, reversed .ctors at
 * load; handlers registered by constructors, then reversed fini_array,
 * then .dtors at unload; and run_main / run_function. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "executor/services/services.h"
#include "rivet/sps.h"

extern char **environ;
int __cxa_atexit(void (*fn)(void *), void *arg, void *dso);

static char order[128];
static char fake_dso; /* stands in for a link's __dso_handle */
static int envp_ok = 1;

static void note(const char *what) { strcat(order, what); }

static void p1(int c, char **v, char **e) { (void)c; (void)v; envp_ok &= e == environ; note("P1 "); }
static void p2(int c, char **v, char **e) { (void)c; (void)v; (void)e; note("P2 "); }
static void handler(void *arg) { (void)arg; note("H "); }
static void i1(int c, char **v, char **e)
{
    (void)c; (void)v; envp_ok &= e == environ;
    note("I1 ");
    /* like a constructor calling atexit: must run before the fini runner */
    __cxa_atexit(handler, NULL, &fake_dso);
}
static void i2(int c, char **v, char **e) { (void)c; (void)v; (void)e; note("I2 "); }
static void c1(void) { note("C1 "); }
static void c2(void) { note("C2 "); }
static void f1(void) { note("F1 "); }
static void f2(void) { note("F2 "); }
static void d1(void) { note("D1 "); }
static void d2(void) { note("D2 "); }

#define FN(f) ((uint64_t)(uintptr_t)(f))
static uint64_t preinit[] = {FN(p1), FN(p2)};
static uint64_t init[] = {FN(i1), FN(i2)};
static uint64_t ctors[] = {UINT64_MAX, FN(c1), FN(c2), 0}; /* crtbegin-style */
static uint64_t fini[] = {FN(f1), FN(f2)};
static uint64_t dtors[] = {UINT64_MAX, FN(d1), FN(d2), 0};

static void put_array(rivet_sps_writer *w, const uint64_t *a, size_t n)
{
    rivet_sps_put_range(w, (uint64_t)(uintptr_t)a, (uint64_t)(uintptr_t)(a + n));
}

static rivet_action_fn action(rivet_session *s, const char *name)
{
    uint64_t addr = 0;
    CHECK(rivet_session_lookup_bootstrap_symbol(s, name, &addr));
    return (rivet_action_fn)(uintptr_t)addr;
}

/* Run an action with w's bytes; true when it reports success. */
static bool run_action(rivet_action_fn fn, rivet_sps_writer *w)
{
    char *data;
    size_t size;
    CHECK_OK(rivet_sps_writer_finish(w, &data, &size));
    char *message = fn(data, size);
    free(data);
    free(message);
    return message == NULL;
}

static void test_ordering_through_actions(rivet_session *s)
{
    rivet_sps_writer w;
    rivet_sps_writer_init(&w);
    rivet_sps_put_u64(&w, (uint64_t)(uintptr_t)&fake_dso);
    put_array(&w, preinit, 2);
    put_array(&w, init, 2);
    put_array(&w, ctors, 4);
    put_array(&w, fini, 2);
    put_array(&w, dtors, 4);
    CHECK(run_action(action(s, "rivet_run_initializers"), &w));
    CHECK(strcmp(order, "P1 P2 I1 I2 C2 C1 ") == 0);
    CHECK(envp_ok);
    order[0] = '\0';
    rivet_sps_put_u64(&w, (uint64_t)(uintptr_t)&fake_dso);
    CHECK(run_action(action(s, "rivet_run_finalizers"), &w));
    CHECK(strcmp(order, "H F2 F1 D1 D2 ") == 0);
    order[0] = '\0';
    rivet_sps_put_u64(&w, (uint64_t)(uintptr_t)&fake_dso);
    CHECK(run_action(action(s, "rivet_run_finalizers"), &w));
    CHECK(order[0] == '\0'); /* handlers run once */
}

static void test_bad_arguments(rivet_session *s)
{
    rivet_sps_writer w;
    rivet_sps_writer_init(&w);
    rivet_sps_put_u64(&w, 0); /* null dso handle */
    CHECK(!run_action(action(s, "rivet_run_finalizers"), &w));
    rivet_sps_put_u64(&w, 1); /* truncated initializers payload */
    CHECK(!run_action(action(s, "rivet_run_initializers"), &w));
    rv_program_arrays a = {(uint64_t)(uintptr_t)&fake_dso, {0, 0}, {16, 8},
                           {0, 0}, {0, 0}, {0, 0}};
    CHECK_FAILS(rv_program_run_initializers(&a), RIVET_ERR_MALFORMED);
    a.init = (rv_fn_array){(uint64_t)(uintptr_t)init, (uint64_t)(uintptr_t)init + 5};
    CHECK_FAILS(rv_program_run_initializers(&a), RIVET_ERR_MALFORMED);
    CHECK(order[0] == '\0');
}

static int seen_argc;
static char seen_argv1[16], seen_env[16];

static int fake_main(int argc, char **argv, char **envp)
{
    seen_argc = argc;
    strncpy(seen_argv1, argv[1], sizeof(seen_argv1) - 1);
    strncpy(seen_env, envp[0], sizeof(seen_env) - 1);
    return argv[argc] == NULL ? 42 : -1;
}

static int answer(void) { return -7; }

static void test_run(rivet_session *s)
{
    char *argv[] = {"prog", "one", NULL};
    char *envp[] = {"K=V", NULL};
    int status = 0;
    CHECK_OK(rv_program_run_main(s, FN(fake_main), 2, argv, envp, &status));
    CHECK(status == 42 && seen_argc == 2);
    CHECK(strcmp(seen_argv1, "one") == 0 && strcmp(seen_env, "K=V") == 0);
    CHECK_OK(rv_program_run_function(s, FN(answer), &status));
    CHECK(status == -7);
    CHECK_FAILS(rv_program_run_function(s, 0, &status), RIVET_ERR_MALFORMED);
    rivet_session_shutdown(s);
    CHECK_FAILS(rv_program_run_function(s, FN(answer), &status), RIVET_ERR_STATE);
}

int main(void)
{
    rivet_session *s;
    CHECK_OK(rivet_session_create(&s));
    CHECK_OK(rivet_session_add_standard_services(s));
    test_ordering_through_actions(s);
    test_bad_arguments(s);
    test_run(s);
    rivet_session_destroy(s);
    return check_report("test_program");
}
