/* Checks that the memory map answers through a second, JSON controller
 * interface (executor/ci_json/) with nothing changed in the service:
 * reserve, initialize with content and allocation actions, deinitialize,
 * release, and refusals of malformed requests and wrong instances. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rivet/rt.h"

static rivet_session *session;
static char answer[512];

static void keep_answer(void *ctx, uint64_t id, rivet_wrapper_result r)
{
    (void)ctx;
    (void)id;
    snprintf(answer, sizeof(answer), "%.*s", r.error ? 0 : (int)r.size,
             r.data ? r.data : "");
    free(r.data);
    rivet_error_free(r.error);
}

/* Allocation actions: each appends "<tag>:<arg>;" to the log; "fail"
 * as an argument makes one fail. */
static char action_log[128];

static char *log_action(const char *tag, const char *arg, size_t n)
{
    size_t used = strlen(action_log);
    snprintf(action_log + used, sizeof(action_log) - used, "%s:%.*s;", tag,
             (int)n, arg);
    return n == 4 && memcmp(arg, "fail", 4) == 0 ? strdup("it failed") : NULL;
}

static char *finalize_action(const char *arg, size_t n) { return log_action("F", arg, n); }
static char *dealloc_action(const char *arg, size_t n) { return log_action("D", arg, n); }

/* Call a JSON wrapper by name; the answer lands in `answer`. */
static const char *call(const char *name, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static const char *call(const char *name, const char *fmt, ...)
{
    char req[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(req, sizeof(req), fmt, ap);
    va_end(ap);
    uint64_t fn = 0;
    CHECK(rivet_session_lookup_bootstrap_symbol(session, name, &fn));
    answer[0] = '\0';
    rivet_session_call_wrapper(session, fn, 1, keep_answer, NULL, req, strlen(req));
    return answer;
}

int main(void)
{
    CHECK_OK(rivet_session_create(&session));
    CHECK_OK(rivet_session_add_standard_services(session));
    uint64_t mm = 0;
    CHECK(rivet_session_lookup_bootstrap_symbol(session, "rivet_memory_map", &mm));
    unsigned long long inst = (unsigned long long)mm, slab = 0, region = 0;

    CHECK(sscanf(call("rivet_memory_map_reserve_json",
                      "{\"instance\": %llu, \"size\": 8192, \"placement\": 0}", inst),
                 "{\"value\": %llu}", &slab) == 1 && slab != 0);
    CHECK(sscanf(call("rivet_memory_map_initialize_json",
                      " { \"segments\": [ {\"addr\": %llu, \"size\": 4096, \"prot\": 1,"
                      " \"content\": \"68690a\"} ], \"instance\": %llu } ", slab, inst),
                 "{\"value\": %llu}", &region) == 1 && region == slab);
    CHECK(memcmp((void *)(uintptr_t)slab, "hi\n", 3) == 0);
    /* the same pages again: the service's own error, in JSON */
    CHECK(strncmp(call("rivet_memory_map_initialize_json",
                       "{\"instance\": %llu, \"segments\": [{\"addr\": %llu, "
                       "\"size\": 4096, \"prot\": 1, \"content\": \"\"}]}", inst, slab),
                  "{\"error\": \"", 11) == 0);
    CHECK(strcmp(call("rivet_memory_map_deinitialize_multiple_json",
                      "{\"instance\": %llu, \"addrs\": [%llu]}", inst, region), "{}") == 0);
    CHECK(strcmp(call("rivet_memory_map_release_multiple_json",
                      "{\"instance\": %llu, \"addrs\": []}", inst), "{}") == 0);
    CHECK(strcmp(call("rivet_memory_map_release_multiple_json",
                      "{\"instance\": %llu, \"addrs\": [%llu]}", inst, slab), "{}") == 0);

    /* allocation actions: finalize at initialize, dealloc at deinitialize
     * ("6869" is "hi", "6279" is "by", "6661696c" is "fail") */
    unsigned long long fin = (unsigned long long)(uintptr_t)finalize_action,
                       dea = (unsigned long long)(uintptr_t)dealloc_action;
    CHECK(sscanf(call("rivet_memory_map_reserve_json",
                      "{\"instance\": %llu, \"size\": 8192, \"placement\": 0}", inst),
                 "{\"value\": %llu}", &slab) == 1 && slab != 0);
    action_log[0] = '\0';
    CHECK(sscanf(call("rivet_memory_map_initialize_json",
                      "{\"instance\": %llu, \"segments\": [{\"addr\": %llu, \"size\": 4096,"
                      " \"prot\": 1, \"content\": \"\"}], \"actions\": ["
                      "{\"finalize\": {\"fn\": %llu, \"arg\": \"6869\"},"
                      " \"dealloc\": {\"fn\": %llu, \"arg\": \"6279\"}},"
                      " {\"finalize\": {\"fn\": %llu, \"arg\": \"\"}}]}",
                      inst, slab, fin, dea, fin),
                 "{\"value\": %llu}", &region) == 1 && region == slab);
    CHECK(strcmp(action_log, "F:hi;F:;") == 0);
    CHECK(strcmp(call("rivet_memory_map_deinitialize_multiple_json",
                      "{\"instance\": %llu, \"addrs\": [%llu]}", inst, region), "{}") == 0);
    CHECK(strcmp(action_log, "F:hi;F:;D:by;") == 0);
    /* a failing finalize action: the error, the earlier pair undone */
    action_log[0] = '\0';
    CHECK(strstr(call("rivet_memory_map_initialize_json",
                      "{\"instance\": %llu, \"segments\": [{\"addr\": %llu, \"size\": 4096,"
                      " \"prot\": 1}], \"actions\": ["
                      "{\"finalize\": {\"fn\": %llu, \"arg\": \"6869\"},"
                      " \"dealloc\": {\"fn\": %llu, \"arg\": \"6279\"}},"
                      " {\"finalize\": {\"fn\": %llu, \"arg\": \"6661696c\"}}]}",
                      inst, slab, fin, dea, fin),
                 "it failed"));
    CHECK(strcmp(action_log, "F:hi;F:fail;D:by;") == 0);
    CHECK(strcmp(call("rivet_memory_map_release_multiple_json",
                      "{\"instance\": %llu, \"addrs\": [%llu]}", inst, slab), "{}") == 0);
    CHECK(strstr(call("rivet_memory_map_initialize_json",
                      "{\"instance\": %llu, \"actions\": [{\"finalise\": {}}]}", inst),
                 "malformed JSON"));
    CHECK(strstr(call("rivet_memory_map_initialize_json",
                      "{\"instance\": %llu, \"actions\": [{\"dealloc\": {\"arg\": \"abc\"}}]}",
                      inst),
                 "malformed JSON"));
    CHECK(strstr(call("rivet_memory_map_initialize_json",
                      "{\"instance\": %llu, \"actions\": [{\"dealloc\": {\"arg\": \"\","
                      " \"arg\": \"\"}}]}", inst),
                 "malformed JSON"));

    /* refusals */
    CHECK(strstr(call("rivet_memory_map_reserve_json", "{\"instance\": 1, \"size\": 1}"),
                 "is not the memory map instance"));
    CHECK(strstr(call("rivet_memory_map_reserve_json", "{\"size\": 99999999999999999999}"),
                 "malformed JSON"));
    CHECK(strstr(call("rivet_memory_map_reserve_json", "{\"sizes\": 1}"), "malformed JSON"));
    CHECK(strstr(call("rivet_memory_map_reserve_json", "{\"size\": 1} x"), "malformed JSON"));
    CHECK(strstr(call("rivet_memory_map_initialize_json",
                      "{\"instance\": %llu, \"segments\": [{\"content\": \"6\"}]}", inst),
                 "malformed JSON"));
    CHECK(strstr(call("rivet_memory_map_initialize_json",
                      "{\"instance\": %llu, \"segments\": [{\"content\": \"zz\"}]}", inst),
                 "malformed JSON"));
    CHECK(strstr(call("rivet_memory_map_initialize_json", "[1, 2"), "malformed JSON"));
    CHECK(strstr(call("rivet_memory_map_release_multiple_json",
                      "{\"instance\": %llu, \"addrs\": [1,]}", inst), "malformed JSON"));
    rivet_session_destroy(session);
    return check_report("test_ci_json");
}
