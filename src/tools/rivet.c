/*
 * tools/rivet.c — the `rivet` command line. Uses only the public API.
 *
 *   rivet run [options] FILE... [-- ARG...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rivet/rivet.h"
#include "rivet/rt.h"

extern char **environ;

typedef struct run_options {
    const char *entry;
    const char *argv0;
    bool noexec, show_symbols, show_sections, stats;
    const char **files;
    int file_count;
    char **args;
    int arg_count;
} run_options;

static void usage(FILE *f) {
    fputs(
        "usage: rivet run [options] FILE... [-- ARG...]\n"
        "\n"
        "Link ELF relocatable objects into this process and run them.\n"
        "\n"
        "options:\n"
        "  -e SYMBOL         entry point (default: main)\n"
        "  --argv0 NAME      argv[0] for the program (default: first FILE)\n"
        "  --noexec          link only; do not run\n"
        "  --show-symbols    print exported symbols: NAME 0xADDR SIZE SEGMENT\n"
        "  --show-sections   print placed sections: OBJECT SECTION 0xADDR SIZE PERM\n"
        "  --stats           print time per phase and counts to stderr\n"
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

static int parse_run(int argc, char **argv, run_options *o) {
    o->files = calloc((size_t)argc + 1, sizeof *o->files);
    if (!o->files)
        return bad_usage("out of memory", NULL);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
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
        } else if (a[0] == '-' && a[1]) {
            return bad_usage("unknown option", a);
        } else {
            o->files[o->file_count++] = a;
        }
    }
    if (!o->file_count)
        return bad_usage("no input files", NULL);
    return 0;
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

static int run_program(rivet_jit *jit, const run_options *o) {
    char **argv = calloc((size_t)o->arg_count + 2, sizeof *argv);
    if (!argv)
        return fail(rivet_error_create(RIVET_ERR_NOMEM, "out of memory"));
    argv[0] = (char *)(o->argv0 ? o->argv0 : o->files[0]);
    for (int i = 0; i < o->arg_count; i++)
        argv[i + 1] = o->args[i];
    int status = 0;
    fflush(NULL);
    rivet_error *e = rivet_jit_run_main(jit, o->entry, o->arg_count + 1, argv,
                                        environ, &status);
    free(argv);
    if (e)
        return fail(e);
    /* exit, not return: buffers flush and atexit handlers, destructors and
     * .fini_array run, as when a natively linked program returns from main */
    exit(status);
}

static int cmd_run(int argc, char **argv) {
    run_options o = {0};
    int rc = parse_run(argc, argv, &o);
    if (rc)
        return rc;
    rivet_jit *jit;
    rivet_error *e = rivet_jit_create(NULL, &jit);
    for (int i = 0; !e && i < o.file_count; i++)
        e = rivet_jit_add_file(jit, o.files[i]);
    rivet_link *link = NULL;
    if (!e)
        e = rivet_jit_link(jit, &link);
    if (e)
        return fail(e);
    if (o.show_sections)
        show_sections(link);
    if (o.show_symbols)
        show_symbols(link);
    if (o.stats)
        show_stats(link);
    fflush(stdout);
    if (o.noexec) {
        rivet_jit_destroy(jit);
        free(o.files);
        return 0;
    }
    return run_program(jit, &o);
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
    if (strcmp(argv[1], "run") == 0)
        return cmd_run(argc - 2, argv + 2);
    return bad_usage("unknown command", argv[1]);
}
