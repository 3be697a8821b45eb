/*
 * examples/embed/embed.c — embedding the rivet engine: compile a C
 * function from a string at run time, call it, and let it call back into
 * the host through the symbol resolver.
 *
 *   make examples && build/examples/embed "x * x + 1"
 *
 * The expression becomes the body of `long f(long x)`; the second run with
 * the same expression is a cache hit (nothing is compiled). Use -v to see
 * the compile and the cache at work.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rivet/engine.h"

/* A host function the JIT'd code may call: `long host_scale(long)`. */
static long host_scale(long v) { return v * 10; }

static uint64_t resolve(void *ctx, const char *name) {
    (void)ctx;
    return strcmp(name, "host_scale") == 0 ? (uint64_t)(uintptr_t)host_scale : 0;
}

static void log_line(void *ctx, const char *message) {
    (void)ctx;
    fprintf(stderr, "engine: %s\n", message);
}

static int fail(rivet_error *e) {
    fprintf(stderr, "embed: %s\n", rivet_error_message(e));
    rivet_error_free(e);
    return 1;
}

int main(int argc, char **argv) {
    bool verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
    const char *expr = argc > 1 + verbose ? argv[1 + verbose] : "x * x + host_scale(x)";
    char source[4096];
    snprintf(source, sizeof source,
             "long host_scale(long v);\n"
             "long f(long x) { return %s; }\n", expr);

    rivet_engine_builder *b;
    rivet_engine *eng = NULL;
    rivet_error *e = rivet_engine_builder_create(&b);
    if (e)
        return fail(e);
    rivet_engine_builder_set_symbol_resolver(b, resolve, NULL);
    if (verbose)
        rivet_engine_builder_set_log(b, log_line, NULL);
    const char *flags[] = {"-O2"};
    e = rivet_engine_builder_add_flags(b, flags, 1);
    if (!e)
        e = rivet_engine_builder_add_source(b, RIVET_MODULE_C, "expr.c", source, NULL);
    if (!e)
        e = rivet_engine_create(b, &eng); /* nothing compiled yet */
    rivet_engine_builder_destroy(b);
    uint64_t addr = 0;
    if (!e)
        e = rivet_engine_lookup(eng, "f", &addr); /* compiles (or hits the cache) */
    if (e) {
        rivet_engine_destroy(eng);
        return fail(e);
    }
    long (*f)(long) = (long (*)(long))(uintptr_t)addr;
    for (long x = 0; x <= 4; x++)
        printf("f(%ld) = %ld\n", x, f(x));
    rivet_engine_destroy(eng);
    return 0;
}
