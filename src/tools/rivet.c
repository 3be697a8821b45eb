/*
 * tools/rivet.c — the `rivet` command line. Uses only the public API.
 *
 *   rivet run [options] FILE... [-- ARG...]
 *   rivet cache stats | clear
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "rivet/controller.h"
#include "rivet/engine.h"
#include "rivet/rivet.h"
#include "rivet/rt.h"

extern char **environ;

/* Inputs keep their command-line order: it decides archive selection. */
typedef enum input_kind { INPUT_FILE, INPUT_LIBRARY, INPUT_WHOLE_ON, INPUT_WHOLE_OFF } input_kind;

typedef struct run_input {
    input_kind kind;
    const char *value;
} run_input;

typedef struct run_options {
    const char *entry;
    const char *argv0;
    bool noexec, show_symbols, show_sections, stats;
    const char *executor; /* --executor=: NULL in-process, spawn, tcp:HOST:PORT */
    rivet_executor *ex;   /* the out-of-process executor, if any */
    run_input *inputs;
    int input_count;
    const char **lib_dirs;
    int lib_dir_count;
    const char *first_file;
    char **args;
    int arg_count;
    const char **cflags; /* -I -D -U -O -g -std= -f -m -W: for sources */
    int cflag_count;
    bool verbose;        /* -v: compiles, cache hits and misses */
} run_options;

static void usage(FILE *f) {
    fputs(
        "usage: rivet run [options] FILE... [-- ARG...]\n"
        "\n"
        "       rivet cache stats | clear\n"
        "\n"
        "Link ELF relocatable objects into this process and run them. Sources\n"
        "(.c, .cc/.cpp, .s/.S, .ll/.bc) are compiled first, through the cache in\n"
        "$XDG_CACHE_HOME/rivet (or ~/.cache/rivet, at most $RIVET_CACHE_MAX bytes),\n"
        "with $CC / $CXX (default cc / c++; clang-14 for LLVM IR). A C file whose\n"
        "first line is '#!/usr/bin/env -S rivet run' runs as a script: the\n"
        "arguments after it go to the program.\n"
        "\n"
        "options:\n"
        "  -I DIR, -D NAME[=VALUE], -U NAME, -O LEVEL, -g, -std=STD, -fFLAG,\n"
        "  -mFLAG, -WFLAG    passed to the compiles they apply to\n"
        "  -v                show each compile and cache hit or miss\n"
        "  -e SYMBOL         entry point (default: main)\n"
        "  -L DIR            add DIR to the library search path\n"
        "  -lNAME            libNAME.so (opened in the executor) or libNAME.a\n"
        "  --whole-archive   read every member of the archives that follow\n"
        "  --no-whole-archive  back to reading only needed members\n"
        "  --argv0 NAME      argv[0] for the program (default: first FILE)\n"
        "  --noexec          link only; do not run\n"
        "  --show-symbols    print exported symbols: NAME 0xADDR SIZE SEGMENT\n"
        "  --show-sections   print placed sections: OBJECT SECTION 0xADDR SIZE PERM\n"
        "  --stats           print time per phase and counts to stderr\n"
        "  --executor=KIND   where the program runs: in-process (default), spawn\n"
        "                    (a fresh rivet-executor) or tcp:HOST:PORT (a running\n"
        "                    'rivet-executor --listen')\n"
        "  --help            this text\n"
        "  --version         print the version\n",
        f);
}

static int fail(rivet_error *e) {
    const char *m = rivet_error_message(e);
    while (*m) {
        const char *nl = strchr(m, '\n');
        int n = nl ? (int)(nl - m) : (int)strlen(m);
        fprintf(stderr, "rivet: error: %.*s\n", n, m);
        m += n + (nl ? 1 : 0);
    }
    rivet_error_free(e);
    return 1;
}

static int bad_usage(const char *msg, const char *arg) {
    fprintf(stderr, "rivet: error: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    fputs("try 'rivet --help'\n", stderr);
    return 1;
}

static void add_input(run_options *o, input_kind kind, const char *value) {
    o->inputs[o->input_count++] = (run_input){kind, value};
    if (kind == INPUT_FILE && !o->first_file)
        o->first_file = value;
}

/* -L DIR, -LDIR, -l NAME, -lNAME; returns the index of the last argv used,
 * or -1 when the option is not one of these. */
static int parse_library_option(int argc, char **argv, int i, run_options *o) {
    const char *a = argv[i];
    if ((a[1] != 'L' && a[1] != 'l') || a[0] != '-')
        return -1;
    const char *v = a[2] ? a + 2 : (i + 1 < argc ? argv[++i] : NULL);
    if (!v)
        return -2;
    if (a[1] == 'L')
        o->lib_dirs[o->lib_dir_count++] = v;
    else
        add_input(o, INPUT_LIBRARY, v);
    return i;
}

/* Compile flags (joined or followed by their value for -I -D -U); returns
 * the index of the last argv used, -1 when not one, -2 when the value is
 * missing. */
static int parse_compile_option(int argc, char **argv, int i, run_options *o) {
    const char *a = argv[i];
    bool valued = a[0] == '-' && a[1] && strchr("IDU", a[1]) && a[2] == 0;
    bool joined = a[0] == '-' && ((a[1] && strchr("IDUOfmWg", a[1])) ||
                                  strncmp(a, "-std=", 5) == 0);
    if (!valued && !joined)
        return -1;
    if (valued && i + 1 >= argc)
        return -2;
    o->cflags[o->cflag_count++] = a;
    if (valued)
        o->cflags[o->cflag_count++] = argv[++i];
    return i;
}

/* A script (first line "#!"): the arguments after it are the program's. */
static bool is_script(const char *path) {
    char head[2] = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    size_t n = fread(head, 1, 2, f);
    fclose(f);
    return n == 2 && head[0] == '#' && head[1] == '!';
}

static int parse_run(int argc, char **argv, run_options *o) {
    o->cflags = calloc((size_t)argc + 1, sizeof *o->cflags);
    if (!o->cflags)
        return bad_usage("out of memory", NULL);
    o->inputs = calloc((size_t)argc + 1, sizeof *o->inputs);
    o->lib_dirs = calloc((size_t)argc + 1, sizeof *o->lib_dirs);
    if (!o->inputs || !o->lib_dirs)
        return bad_usage("out of memory", NULL);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int used = parse_library_option(argc, argv, i, o);
        if (used == -1)
            used = parse_compile_option(argc, argv, i, o);
        if (used == -2)
            return bad_usage("missing argument for", a);
        if (used >= 0) {
            i = used;
        } else if (strcmp(a, "--whole-archive") == 0) {
            add_input(o, INPUT_WHOLE_ON, NULL);
        } else if (strcmp(a, "--no-whole-archive") == 0) {
            add_input(o, INPUT_WHOLE_OFF, NULL);
        } else if (strcmp(a, "--") == 0) {
            o->args = argv + i + 1;
            o->arg_count = argc - i - 1;
            break;
        } else if (strcmp(a, "-e") == 0 || strcmp(a, "--argv0") == 0) {
            if (i + 1 >= argc)
                return bad_usage("missing argument for", a);
            *(a[1] == 'e' ? &o->entry : &o->argv0) = argv[++i];
        } else if (strcmp(a, "--noexec") == 0) {
            o->noexec = true;
        } else if (strcmp(a, "--show-symbols") == 0) {
            o->show_symbols = true;
        } else if (strcmp(a, "--show-sections") == 0) {
            o->show_sections = true;
        } else if (strcmp(a, "--stats") == 0) {
            o->stats = true;
        } else if (strncmp(a, "--executor=", 11) == 0) {
            o->executor = a + 11;
        } else if (strcmp(a, "-v") == 0) {
            o->verbose = true;
        } else if (a[0] == '-' && a[1]) {
            return bad_usage("unknown option", a);
        } else {
            add_input(o, INPUT_FILE, a);
            rivet_module_kind kind = rivet_module_kind_of(a);
            bool binary = kind == RIVET_MODULE_OBJECT || kind == RIVET_MODULE_ARCHIVE;
            if (!binary && is_script(a)) { /* objects need not be opened twice */
                o->args = argv + i + 1;
                o->arg_count = argc - i - 1;
                break;
            }
        }
    }
    if (!o->first_file && !o->input_count)
        return bad_usage("no input files", NULL);
    return 0;
}

/* ------------------------------------------------------------ libraries */

static const char *const default_lib_dirs[] = {
    "/usr/local/lib/x86_64-linux-gnu", "/usr/local/lib",
    "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib", "/usr/lib",
};

static bool file_exists(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f)
        fclose(f);
    return f != NULL;
}

/* A .so that is a linker script (glibc's libc.so, libm.so) names the real
 * shared objects; open each "*.so.N" it mentions. */
static rivet_error *open_linker_script(rivet_jit *jit, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f)
        return rivet_error_from_errno(errno, "%s", path);
    char word[4096];
    rivet_error *e = NULL;
    while (!e && fscanf(f, " %4095[^ \t\n()]", word) == 1) {
        if (word[0] == '/' && strstr(word, ".so."))
            e = rivet_jit_add_library(jit, word);
        if (fscanf(f, "%*[ \t\n()]") == EOF)
            break;
    }
    fclose(f);
    return e;
}

static bool is_elf_file(const char *path) {
    unsigned char magic[4] = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    size_t n = fread(magic, 1, 4, f);
    fclose(f);
    return n == 4 && memcmp(magic, "\177ELF", 4) == 0;
}

static rivet_error *add_named_library(rivet_jit *jit, const run_options *o,
                                      const char *name) {
    char path[4096];
    int ndefault = (int)(sizeof default_lib_dirs / sizeof default_lib_dirs[0]);
    for (int i = 0; i < o->lib_dir_count + ndefault; i++) {
        const char *dir = i < o->lib_dir_count ? o->lib_dirs[i]
                                               : default_lib_dirs[i - o->lib_dir_count];
        snprintf(path, sizeof path, "%s/lib%s.so", dir, name);
        if (file_exists(path))
            return is_elf_file(path) ? rivet_jit_add_library(jit, path)
                                     : open_linker_script(jit, path);
        snprintf(path, sizeof path, "%s/lib%s.a", dir, name);
        if (file_exists(path))
            return rivet_jit_add_file(jit, path);
    }
    return rivet_error_create(RIVET_ERR_NOT_FOUND,
                              "cannot find -l%s (searched -L directories and "
                              "the system library directories)", name);
}

/* Sources are compiled (through the engine's cache) into objects in
 * memory; everything keeps its command-line order. */
static rivet_error *add_file(rivet_engine *eng, rivet_jit *jit, const char *path) {
    rivet_module_kind kind = rivet_module_kind_of(path);
    if (kind == RIVET_MODULE_AUTO || kind == RIVET_MODULE_OBJECT ||
        kind == RIVET_MODULE_ARCHIVE)
        return rivet_jit_add_file(jit, path);
    const void *object;
    size_t size;
    rivet_error *e = rivet_engine_compile_file(eng, path, &object, &size);
    return e ? e : rivet_jit_add_buffer(jit, path, object, size);
}

static void log_to_stderr(void *ctx, const char *message) {
    (void)ctx;
    size_t n = strlen(message);
    fprintf(stderr, "rivet: %s%s", message, n && message[n - 1] == '\n' ? "" : "\n");
}

static rivet_error *create_engine(const run_options *o, rivet_engine **out) {
    rivet_engine_builder *b;
    rivet_error *e = rivet_engine_builder_create(&b);
    if (e)
        return e;
    if (o->verbose)
        rivet_engine_builder_set_log(b, log_to_stderr, NULL);
    if (o->ex)
        rivet_engine_builder_set_executor(b, o->ex);
    e = rivet_engine_builder_add_flags(b, o->cflags, (size_t)o->cflag_count);
    if (!e)
        e = rivet_engine_create(b, out);
    rivet_engine_builder_destroy(b);
    return e;
}

static rivet_error *add_inputs(rivet_engine *eng, rivet_jit *jit,
                               const run_options *o) {
    rivet_error *e = NULL;
    for (int i = 0; i < o->input_count && !e; i++) {
        const run_input *in = &o->inputs[i];
        switch (in->kind) {
        case INPUT_FILE: e = add_file(eng, jit, in->value); break;
        case INPUT_LIBRARY: e = add_named_library(jit, o, in->value); break;
        case INPUT_WHOLE_ON: rivet_jit_set_whole_archive(jit, true); break;
        case INPUT_WHOLE_OFF: rivet_jit_set_whole_archive(jit, false); break;
        }
    }
    return e;
}

static int compare_symbols(const void *a, const void *b) {
    const rivet_symbol_info *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    return strcmp(x->name, y->name);
}

static void show_symbols(const rivet_link *l) {
    size_t n = rivet_link_symbol_count(l);
    rivet_symbol_info *v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        rivet_link_symbol_at(l, i, &v[i]);
    qsort(v, n, sizeof *v, compare_symbols);
    for (size_t i = 0; i < n; i++)
        printf("%s 0x%llx %llu %s\n", v[i].name, (unsigned long long)v[i].addr,
               (unsigned long long)v[i].size, v[i].section);
    free(v);
}

static void show_sections(const rivet_link *l) {
    size_t n = rivet_link_section_count(l);
    for (size_t i = 0; i < n; i++) {
        rivet_section_info s;
        rivet_link_section_at(l, i, &s);
        printf("%s %s 0x%llx %llu %c%c%c\n", s.object, s.name,
               (unsigned long long)s.addr, (unsigned long long)s.size,
               s.prot & RIVET_PROT_READ ? 'r' : '-',
               s.prot & RIVET_PROT_WRITE ? 'w' : '-',
               s.prot & RIVET_PROT_EXEC ? 'x' : '-');
    }
    fflush(stdout);
}

static void show_stats(const rivet_link *l) {
    rivet_link_stats s;
    rivet_link_get_stats(l, &s);
    fprintf(stderr,
            "rivet: stats: read %.3f ms, resolve %.3f ms, passes %.3f ms, "
            "layout %.3f ms, fixup %.3f ms, finalize %.3f ms\n"
            "rivet: stats: %llu objects, %llu sections, %llu symbols, "
            "%llu relocations, %llu GOT entries, %llu stubs, %llu bytes\n",
            s.read_ms, s.resolve_ms, s.passes_ms, s.layout_ms, s.fixup_ms,
            s.finalize_ms, (unsigned long long)s.objects,
            (unsigned long long)s.sections, (unsigned long long)s.symbols,
            (unsigned long long)s.relocations, (unsigned long long)s.got_entries,
            (unsigned long long)s.stubs, (unsigned long long)s.bytes);
}

/* ------------------------------------------------- out-of-process executors */

static rivet_error *create_executor(const char *spec, rivet_executor **out) {
    *out = NULL;
    if (!spec || strcmp(spec, "in-process") == 0)
        return NULL;
    if (strcmp(spec, "spawn") == 0)
        return rivet_executor_spawn(NULL, out);
    const char *colon = strncmp(spec, "tcp:", 4) == 0 ? strrchr(spec + 4, ':') : NULL;
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    if (!colon || colon == spec + 4 || !colon[1] || *end || port <= 0 || port > 65535)
        return rivet_error_create(RIVET_ERR_GENERIC,
                                  "--executor=%s: expected in-process, spawn or "
                                  "tcp:HOST:PORT", spec);
    char host[256];
    snprintf(host, sizeof host, "%.*s", (int)(colon - spec - 4), spec + 4);
    return rivet_executor_connect_tcp(host, (uint16_t)port, out);
}

/* main ran in another process: end as it did. A program that called
 * exit(n) or died by a signal took the executor with it; mirror that. */
static int finish_out_of_process(rivet_executor *ex, rivet_error *e, int status) {
    int ws;
    if (e && rivet_executor_exit_status(ex, &ws)) {
        if (WIFEXITED(ws)) {
            rivet_error_free(e);
            exit(WEXITSTATUS(ws));
        }
        /* A crash dies as it would in-process, without a word; only an
         * outside kill -9 is worth explaining. */
        if (WTERMSIG(ws) == SIGKILL)
            fail(e);
        else
            rivet_error_free(e);
        fflush(NULL);
        signal(WTERMSIG(ws), SIG_DFL);
        raise(WTERMSIG(ws));
        return 128 + WTERMSIG(ws);
    }
    if (e)
        return fail(e);
    /* the executor runs the exit handlers and flushes its own stdout */
    e = rivet_executor_exit(ex, status);
    if (e)
        return fail(e);
    exit(status);
}

static int run_program(rivet_jit *jit, const run_options *o) {
    char **argv = calloc((size_t)o->arg_count + 2, sizeof *argv);
    if (!argv)
        return fail(rivet_error_create(RIVET_ERR_NOMEM, "out of memory"));
    argv[0] = (char *)(o->argv0 ? o->argv0 : o->first_file ? o->first_file : "a.out");
    for (int i = 0; i < o->arg_count; i++)
        argv[i + 1] = o->args[i];
    int status = 0;
    fflush(NULL);
    rivet_error *e = rivet_jit_run_main(jit, o->entry, o->arg_count + 1, argv,
                                        environ, &status);
    free(argv);
    if (o->ex)
        return finish_out_of_process(o->ex, e, status);
    if (e)
        return fail(e);
    /* exit, not return: buffers flush and atexit handlers, destructors and
     * .fini_array run, as when a natively linked program returns from main */
    exit(status);
}

/* What a finished run leaves behind. The process is about to end, and the
 * kernel takes the whole address space back at once far faster than the
 * jit could unmap its inputs, arenas and tables one by one, so a run that
 * succeeded exits without destroying anything (as fast linkers do). The
 * pointers stay reachable from here, so leak checkers see no leak. */
static struct {
    rivet_engine *engine;
    run_options *options;
} kept;

static void exit_keeping(run_options *o, rivet_engine *eng, int status) {
    kept.engine = eng;
    kept.options = o;
    exit(status); /* flushes stdio; atexit handlers still run */
}

/* Free what cmd_run made (also on failure, so leak checkers see a clean
 * exit) and pass `rc` through. */
static int release_run(run_options *o, rivet_engine *eng, int rc) {
    rivet_engine_destroy(eng);
    if (o->ex)
        rivet_executor_destroy(o->ex);
    free(o->cflags);
    free(o->inputs);
    free(o->lib_dirs);
    return rc;
}

static int cmd_run(int argc, char **argv) {
    run_options o = {0};
    int rc = parse_run(argc, argv, &o);
    if (rc)
        return rc;
    rivet_engine *eng = NULL;
    rivet_jit *jit = NULL;
    rivet_error *e = create_executor(o.executor, &o.ex);
    if (!e)
        e = create_engine(&o, &eng);
    if (!e) {
        jit = rivet_engine_jit(eng);
        if (o.noexec)
            rivet_jit_set_run_initializers(jit, false); /* link only */
        e = add_inputs(eng, jit, &o);
    }
    rivet_link *link = NULL;
    if (!e)
        e = rivet_jit_link(jit, &link);
    if (e)
        return release_run(&o, eng, fail(e));
    if (o.show_sections)
        show_sections(link);
    if (o.show_symbols)
        show_symbols(link);
    if (o.stats)
        show_stats(link);
    if (o.noexec && !o.ex)
        exit_keeping(&o, eng, 0);
    fflush(stdout);
    if (o.noexec)
        return release_run(&o, eng, 0);
    /* returns only when the program could not be run */
    return release_run(&o, eng, run_program(jit, &o));
}

/* rivet cache stats | clear */
static int cmd_cache(int argc, char **argv) {
    if (argc != 1 || (strcmp(argv[0], "stats") != 0 && strcmp(argv[0], "clear") != 0))
        return bad_usage("usage: rivet cache stats | clear", NULL);
    rivet_disk_cache *c = NULL;
    rivet_cache_stats st;
    rivet_error *e = rivet_disk_cache_open(NULL, &c);
    if (!e)
        e = rivet_disk_cache_stats(c, &st);
    if (!e && strcmp(argv[0], "clear") == 0) {
        e = rivet_disk_cache_clear(c);
        if (!e)
            printf("cleared %llu entries (%llu bytes) from %s\n",
                   (unsigned long long)st.entries, (unsigned long long)st.bytes,
                   rivet_disk_cache_dir(c));
    } else if (!e) {
        printf("directory: %s\nentries: %llu\nsize: %llu bytes\nlimit: %llu bytes\n",
               rivet_disk_cache_dir(c), (unsigned long long)st.entries,
               (unsigned long long)st.bytes, (unsigned long long)st.max_bytes);
    }
    rivet_disk_cache_close(c);
    return e ? fail(e) : 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("rivet %s\n", RIVET_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "cache") == 0)
        return cmd_cache(argc - 2, argv + 2);
    if (strcmp(argv[1], "run") == 0)
        return cmd_run(argc - 2, argv + 2);
    return bad_usage("unknown command", argv[1]);
}
