/*
 * executor/services/program.c — the program runner: runs a link's
 * initializers and finalizers the way a natively linked program does, and
 * calls main or any int(void) entry point.
 *
 * Order, as ld.so gives it: at load, the fini runner is registered with
 * __cxa_atexit *before* any constructor runs, so it runs after every
 * handler the constructors (or main) register later — exactly as _dl_fini,
 * registered before main, runs after them. Then preinit_array and
 * init_array in order, then .ctors last to first (crtbegin's list runs
 * backwards). At unload, __cxa_finalize(dso) runs the link's handlers, the
 * fini runner among them: fini_array last to first, then .dtors first to
 * last.
 */
#include <stdlib.h>
#include <string.h>

#include "executor/services/services.h"
#include "sys/sys.h"

typedef void (*init_fn)(int argc, char **argv, char **envp);
typedef void (*plain_fn)(void);

/* Kept until the exit handler runs; it frees itself. */
struct fini_record {
    rv_fn_array fini, dtors;
};

static size_t entry_count(rv_fn_array a)
{
    return (size_t)((a.end - a.start) / sizeof(uint64_t));
}

static uint64_t entry_at(rv_fn_array a, size_t i)
{
    uint64_t v;
    memcpy(&v, (const char *)(uintptr_t)a.start + i * sizeof(v), sizeof(v));
    return v;
}

/* 0 and -1 fill .ctors/.dtors as list markers, not functions. */
static bool is_marker(uint64_t v)
{
    return v == 0 || v == UINT64_MAX;
}

static void fini_runner(void *arg)
{
    struct fini_record *rec = arg;
    for (size_t i = entry_count(rec->fini); i-- > 0;)
        ((plain_fn)(uintptr_t)entry_at(rec->fini, i))();
    for (size_t i = 0; i < entry_count(rec->dtors); i++) {
        uint64_t f = entry_at(rec->dtors, i);
        if (!is_marker(f))
            ((plain_fn)(uintptr_t)f)();
    }
    free(rec);
}

static rivet_error *check_array(const char *name, rv_fn_array a)
{
    if (a.end < a.start || (a.end - a.start) % sizeof(uint64_t) ||
        (a.start == 0 && a.end != 0))
        return rivet_error_create(RIVET_ERR_MALFORMED,
                                  "%s: bad range [0x%llx, 0x%llx)", name,
                                  (unsigned long long)a.start,
                                  (unsigned long long)a.end);
    return NULL;
}

static rivet_error *check_arrays(const rv_program_arrays *a)
{
    if (a->dso_handle == 0)
        return rivet_error_create(RIVET_ERR_MALFORMED, "null dso handle");
    rivet_error *e = check_array("preinit_array", a->preinit);
    if (!e)
        e = check_array("init_array", a->init);
    if (!e)
        e = check_array(".ctors", a->ctors);
    if (!e)
        e = check_array("fini_array", a->fini);
    if (!e)
        e = check_array(".dtors", a->dtors);
    return e;
}

static void run_init_array(rv_fn_array a, char **envp)
{
    for (size_t i = 0; i < entry_count(a); i++)
        ((init_fn)(uintptr_t)entry_at(a, i))(0, NULL, envp);
}

rivet_error *rv_program_run_initializers(const rv_program_arrays *a)
{
    rivet_error *e = check_arrays(a);
    if (e)
        return rivet_error_wrap(e, "run initializers");
    struct fini_record *rec = malloc(sizeof(*rec));
    if (!rec)
        return rivet_error_create(RIVET_ERR_NOMEM, "run initializers: out of memory");
    rec->fini = a->fini;
    rec->dtors = a->dtors;
    e = rv_sys_atexit_for_dso(fini_runner, rec, (void *)(uintptr_t)a->dso_handle);
    if (e) {
        free(rec);
        return rivet_error_wrap(e, "run initializers");
    }
    /* Initializers get (argc, argv, envp) like ld.so passes; the program's
     * arguments are not known before run_main, so 0 and NULL. */
    char **envp = rv_sys_environ();
    run_init_array(a->preinit, envp);
    run_init_array(a->init, envp);
    for (size_t i = entry_count(a->ctors); i-- > 0;) {
        uint64_t f = entry_at(a->ctors, i);
        if (!is_marker(f))
            ((plain_fn)(uintptr_t)f)();
    }
    return NULL;
}

rivet_error *rv_program_run_finalizers(uint64_t dso_handle)
{
    /* __cxa_finalize(NULL) would run every handler of the process. */
    if (dso_handle == 0)
        return rivet_error_create(RIVET_ERR_MALFORMED,
                                  "run finalizers: null dso handle");
    rv_sys_finalize_dso((void *)(uintptr_t)dso_handle);
    return NULL;
}

rivet_error *rv_program_run_main(rivet_session *s, uint64_t fn, int argc,
                                 char **argv, char **envp, int *status)
{
    typedef int (*main_fn)(int, char **, char **);
    if (fn == 0)
        return rivet_error_create(RIVET_ERR_MALFORMED, "run main: null address");
    rivet_error *e = rivet_session_keepalive_acquire(s);
    if (e)
        return rivet_error_wrap(e, "run main");
    *status = ((main_fn)(uintptr_t)fn)(argc, argv, envp ? envp : rv_sys_environ());
    rivet_session_keepalive_release(s);
    return NULL;
}

rivet_error *rv_program_run_function(rivet_session *s, uint64_t fn, int *result)
{
    typedef int (*int_fn)(void);
    if (fn == 0)
        return rivet_error_create(RIVET_ERR_MALFORMED,
                                  "run function: null address");
    rivet_error *e = rivet_session_keepalive_acquire(s);
    if (e)
        return rivet_error_wrap(e, "run function");
    *result = ((int_fn)(uintptr_t)fn)();
    rivet_session_keepalive_release(s);
    return NULL;
}

/* Stateless: as a service it only holds its place in shutdown order. */
static void program_destroy(rivet_service *svc)
{
    free(svc);
}

static const rivet_service_ops program_ops = {
    .name = "program_runner",
    .on_detach = NULL,
    .on_shutdown = NULL,
    .destroy = program_destroy,
};

rivet_error *rv_program_runner_create(rivet_service **out)
{
    rivet_service *svc = calloc(1, sizeof(*svc));
    if (!svc)
        return rivet_error_create(RIVET_ERR_NOMEM, "program runner: out of memory");
    svc->ops = &program_ops;
    *out = svc;
    return NULL;
}
