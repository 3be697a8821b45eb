/* Checks that the memory map answers through a second, JSON controller
 * interface (executor/ci_json/) with nothing changed in the service:
 * reserve, initialize with content, deinitialize, release, and refusals of
 * malformed requests and wrong instances. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rivet/rt.h"

static rivet_session *session;
static char answer[256];

static void keep_answer(void *ctx, uint64_t id, rivet_wrapper_result r)
{
    (void)ctx;
    (void)id;
    snprintf(answer, sizeof(answer), "%.*s", r.error ? 0 : (int)r.size,
             r.data ? r.data : "");
    free(r.data);
    rivet_error_free(r.error);
}

/* Call a JSON wrapper by name; the answer lands in `answer`. */
static const char *call(const char *name, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static const char *call(const char *name, const char *fmt, ...)
{
    char req[512];
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
    CHECK(strstr(call("rivet_memory_map_initialize_json", "[1, 2"), "malformed JSON"));
    CHECK(strstr(call("rivet_memory_map_release_multiple_json",
                      "{\"instance\": %llu, \"addrs\": [1,]}", inst), "malformed JSON"));
    rivet_session_destroy(session);
    return check_report("test_ci_json");
}
