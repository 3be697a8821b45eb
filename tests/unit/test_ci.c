/* Checks every SPS controller-interface wrapper: a correct payload works
 * through rivet_session_call_wrapper, and every truncated or garbage
 * payload gets an SPS error answer instead of a crash. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rivet/rt.h"
#include "rivet/sps.h"

#define PAGE 4096

static rivet_session *s;

static rivet_wrapper_result got;
static void keep(void *ctx, uint64_t id, rivet_wrapper_result r)
{
    (void)ctx;
    (void)id;
    got = r;
}

static uint64_t sym(const char *name)
{
    uint64_t addr = 0;
    CHECK(rivet_session_lookup_bootstrap_symbol(s, name, &addr));
    return addr;
}

/* Call `name` with bytes [data, data+size); the answer is left in `got`. */
static void call(const char *name, const char *data, size_t size)
{
    got = (rivet_wrapper_result){NULL, 0, NULL};
    rivet_session_call_wrapper(s, sym(name), 1, keep, NULL, data, size);
}

/* Call with w's bytes and keep them in *payload (for truncation later). */
static void call_w(const char *name, rivet_sps_writer *w, char **payload,
                   size_t *size)
{
    CHECK_OK(rivet_sps_writer_finish(w, payload, size));
    call(name, *payload, *size);
}

/* The answer is expected<T> with a value; the reader is left at T. */
static bool answer_ok(rivet_sps_reader *r)
{
    bool has_value = false;
    rivet_sps_reader_init(r, got.data, got.size);
    return !got.error && rivet_sps_get_bool(r, &has_value) && has_value;
}

/* The answer is a failure: expected (leading 0) or error (leading 1). */
static bool answer_failed(bool is_error_type)
{
    rivet_sps_reader r;
    bool flag;
    const char *m;
    size_t n;
    rivet_sps_reader_init(&r, got.data, got.size);
    bool ok = !got.error && rivet_sps_get_bool(&r, &flag) &&
              flag == is_error_type && rivet_sps_get_string(&r, &m, &n) &&
              n > 0 && rivet_sps_reader_done(&r);
    free(got.data);
    return ok;
}

/* Every proper prefix of the payload and two garbage inputs fail cleanly. */
static void check_rejects_bad(const char *name, const char *payload,
                              size_t size, bool is_error_type)
{
    int failed_cleanly = 1;
    for (size_t n = 0; n < size; n++) {
        call(name, payload, n);
        failed_cleanly &= answer_failed(is_error_type);
    }
    char garbage[40];
    memset(garbage, 0xff, sizeof(garbage));
    call(name, garbage, sizeof(garbage));
    failed_cleanly &= answer_failed(is_error_type);
    call(name, "\x01\x02\x03", 3);
    failed_cleanly &= answer_failed(is_error_type);
    if (!failed_cleanly)
        fprintf(stderr, "  (in %s)\n", name);
    CHECK(failed_cleanly);
}

static uint64_t test_reserve(void)
{
    rivet_sps_writer w;
    char *p;
    size_t n;
    uint64_t slab = 0;
    rivet_sps_reader r;
    rivet_sps_writer_init(&w);
    rivet_sps_put_u64(&w, sym("rivet_memory_map"));
    rivet_sps_put_u64(&w, 4 * PAGE);
    rivet_sps_put_u8(&w, RIVET_PLACE_ANYWHERE);
    call_w("rivet_memory_map_reserve_sps", &w, &p, &n);
    CHECK(answer_ok(&r) && rivet_sps_get_u64(&r, &slab) && rivet_sps_reader_done(&r));
    free(got.data);
    check_rejects_bad("rivet_memory_map_reserve_sps", p, n, false);
    free(p);
    return slab;
}

static char *mark_action(const char *arg, size_t n)
{
    (void)arg;
    (void)n;
    return NULL;
}

static uint64_t test_initialize(uint64_t slab)
{
    rivet_sps_writer w;
    char *p;
    size_t n;
    uint64_t region = 0;
    rivet_sps_reader r;
    rivet_sps_writer_init(&w);
    rivet_sps_put_u64(&w, sym("rivet_memory_map"));
    rivet_sps_put_u64(&w, 1); /* one segment */
    rivet_sps_put_u8(&w, RIVET_PROT_READ);
    rivet_sps_put_bool(&w, false);
    rivet_sps_put_u64(&w, slab);
    rivet_sps_put_u64(&w, PAGE);
    rivet_sps_put_cstring(&w, "content");
    rivet_sps_put_u64(&w, 1); /* one action pair */
    rivet_sps_put_u64(&w, (uint64_t)(uintptr_t)mark_action);
    rivet_sps_put_cstring(&w, "f");
    rivet_sps_put_u64(&w, 0);
    rivet_sps_put_string(&w, NULL, 0);
    call_w("rivet_memory_map_initialize_sps", &w, &p, &n);
    CHECK(answer_ok(&r) && rivet_sps_get_u64(&r, &region) && region == slab);
    free(got.data);
    CHECK(memcmp((void *)(uintptr_t)slab, "content", 7) == 0);
    check_rejects_bad("rivet_memory_map_initialize_sps", p, n, false);
    /* a well-formed request for the same pages is refused, as an answer */
    call("rivet_memory_map_initialize_sps", p, n);
    CHECK(answer_failed(false));
    free(p);
    return region;
}

/* (instance, seq<u64>) -> error */
static void test_batch(const char *name, uint64_t addr)
{
    rivet_sps_writer w;
    char *p;
    size_t n;
    rivet_sps_writer_init(&w);
    rivet_sps_put_u64(&w, sym("rivet_memory_map"));
    rivet_sps_put_u64(&w, 1);
    rivet_sps_put_u64(&w, addr);
    call_w(name, &w, &p, &n);
    CHECK(!got.error && got.size == 1 && got.data[0] == 0);
    free(got.data);
    check_rejects_bad(name, p, n, true);
    call(name, p, n); /* second time: that address is gone */
    CHECK(answer_failed(true));
    free(p);
}

static void test_dylib(void)
{
    rivet_sps_writer w;
    char *p;
    size_t n;
    uint64_t handle = 0, count = 0, a0 = 0, a1 = 1;
    rivet_sps_reader r;
    rivet_sps_writer_init(&w);
    rivet_sps_put_u64(&w, sym("rivet_dylib_manager"));
    rivet_sps_put_bool(&w, false); /* no path: the process */
    call_w("rivet_dylib_open_sps", &w, &p, &n);
    CHECK(answer_ok(&r) && rivet_sps_get_u64(&r, &handle) && handle != 0);
    free(got.data);
    check_rejects_bad("rivet_dylib_open_sps", p, n, false);
    free(p);
    rivet_sps_put_u64(&w, sym("rivet_dylib_manager"));
    rivet_sps_put_u64(&w, handle);
    rivet_sps_put_u64(&w, 2);
    rivet_sps_put_cstring(&w, "malloc");
    rivet_sps_put_cstring(&w, "no_such_symbol_in_rivet_tests");
    call_w("rivet_dylib_lookup_sps", &w, &p, &n);
    CHECK(answer_ok(&r) && rivet_sps_get_u64(&r, &count) && count == 2 &&
          rivet_sps_get_u64(&r, &a0) && rivet_sps_get_u64(&r, &a1) &&
          rivet_sps_reader_done(&r));
    CHECK(a0 != 0 && a1 == 0);
    free(got.data);
    check_rejects_bad("rivet_dylib_lookup_sps", p, n, false);
    free(p);
    rivet_sps_put_u64(&w, sym("rivet_dylib_manager"));
    rivet_sps_put_u64(&w, 0xdead0000); /* not an open handle */
    rivet_sps_put_u64(&w, 0);
    call_w("rivet_dylib_lookup_sps", &w, &p, &n);
    CHECK(answer_failed(false));
    free(p);
}

static int add_args(int argc, char **argv, char **envp)
{
    (void)envp;
    return argc * 100 + (int)strlen(argv[argc - 1]);
}

static int forty_two(void) { return 42; }

static void test_run(void)
{
    rivet_sps_writer w;
    char *p;
    size_t n;
    uint32_t v = 0;
    rivet_sps_reader r;
    rivet_sps_writer_init(&w);
    rivet_sps_put_u64(&w, (uint64_t)(uintptr_t)add_args);
    rivet_sps_put_u64(&w, 2);
    rivet_sps_put_cstring(&w, "prog");
    rivet_sps_put_cstring(&w, "abc");
    rivet_sps_put_u64(&w, 0);
    call_w("rivet_run_main_sps", &w, &p, &n);
    CHECK(answer_ok(&r) && rivet_sps_get_u32(&r, &v) && v == 203);
    free(got.data);
    check_rejects_bad("rivet_run_main_sps", p, n, false);
    free(p);
    rivet_sps_put_u64(&w, (uint64_t)(uintptr_t)forty_two);
    call_w("rivet_run_function_sps", &w, &p, &n);
    CHECK(answer_ok(&r) && rivet_sps_get_u32(&r, &v) && v == 42);
    free(got.data);
    check_rejects_bad("rivet_run_function_sps", p, n, false);
    free(p);
}

static void test_actions_reject_bad(void)
{
    const char *names[] = {"rivet_register_eh_frame", "rivet_deregister_eh_frame",
                           "rivet_run_initializers", "rivet_run_finalizers"};
    char garbage[40];
    memset(garbage, 0xff, sizeof(garbage));
    for (size_t i = 0; i < 4; i++) {
        rivet_action_fn fn = (rivet_action_fn)(uintptr_t)sym(names[i]);
        char *m1 = fn(garbage, 3), *m2 = fn(garbage, sizeof(garbage));
        CHECK(m1 && m2);
        free(m1);
        free(m2);
    }
    /* a well-formed range that was never registered is an error, not abort */
    rivet_sps_writer w;
    char *p;
    size_t n;
    rivet_sps_writer_init(&w);
    rivet_sps_put_range(&w, 0x1000, 0x2000);
    CHECK_OK(rivet_sps_writer_finish(&w, &p, &n));
    char *m = ((rivet_action_fn)(uintptr_t)sym("rivet_deregister_eh_frame"))(p, n);
    CHECK(m && strstr(m, "not registered"));
    free(m);
    free(p);
}

/* Register an empty .eh_frame (just the zero terminator) twice and
 * deregister it twice: the repeats are errors, not aborts. */
static void test_eh_frame(void)
{
    static const uint32_t empty_eh_frame[1] = {0};
    rivet_action_fn reg = (rivet_action_fn)(uintptr_t)sym("rivet_register_eh_frame");
    rivet_action_fn dereg = (rivet_action_fn)(uintptr_t)sym("rivet_deregister_eh_frame");
    rivet_sps_writer w;
    char *p, *m;
    size_t n;
    rivet_sps_writer_init(&w);
    rivet_sps_put_range(&w, (uint64_t)(uintptr_t)empty_eh_frame,
                        (uint64_t)(uintptr_t)(empty_eh_frame + 1));
    CHECK_OK(rivet_sps_writer_finish(&w, &p, &n));
    CHECK((m = reg(p, n)) == NULL);
    free(m);
    CHECK((m = reg(p, n)) != NULL);
    free(m);
    CHECK((m = dereg(p, n)) == NULL);
    free(m);
    CHECK((m = dereg(p, n)) != NULL);
    free(m);
    free(p);
}

int main(void)
{
    CHECK_OK(rivet_session_create(&s));
    CHECK_OK(rivet_session_add_standard_services(s));
    uint64_t slab = test_reserve();
    uint64_t region = test_initialize(slab);
    test_batch("rivet_memory_map_deinitialize_multiple_sps", region);
    test_batch("rivet_memory_map_release_multiple_sps", slab);
    test_dylib();
    test_run();
    test_actions_reject_bad();
    test_eh_frame();
    /* not a wrapper: an out-of-band error, nothing runs */
    got = (rivet_wrapper_result){NULL, 0, NULL};
    rivet_session_call_wrapper(s, sym("rivet_run_initializers"), 2, keep, NULL,
                               "", 0);
    CHECK(got.error && !got.data);
    rivet_error_free(got.error);
    rivet_session_destroy(s);
    return check_report("test_ci");
}
