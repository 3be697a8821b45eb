/*
 * test_jit.c — checks the jit's guarantees across links: a failed link
 * leaves nothing behind and earlier links keep working; later links see
 * earlier exports; removal runs destructors and atexit handlers and frees
 * the names; duplicate strong definitions across links are refused;
 * COMDAT groups are kept once per jit; undefined names are reported
 * together.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "controller/executor.h"
#include "link/link.h"
#include "rivet/controller.h"
#include "rivet/rivet.h"

static char dir[] = "/tmp/rivet-test-jit-XXXXXX";

/* Compile `source` (C, or assembly when name ends in ".s") into
 * dir/name.o and return its path (static buffer). */
static const char *compile(const char *name, const char *source) {
    static char obj[4][512];
    static int next;
    char src[512], cmd[1200];
    bool assembly = strlen(name) > 2 && strcmp(name + strlen(name) - 2, ".s") == 0;
    snprintf(src, sizeof src, "%s/%s%s", dir, name, assembly ? "" : ".c");
    char *out = obj[next++ % 4];
    snprintf(out, 512, "%s/%s.o", dir, name);
    FILE *f = fopen(src, "w");
    if (!f)
        return NULL;
    fputs(source, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "cc -O1 -fPIC -c %s -o %s", src, out);
    return system(cmd) == 0 ? out : NULL;
}

typedef int (*int_fn)(void);

static int call(rivet_jit *jit, const char *name) {
    uint64_t addr = 0;
    rivet_error *e = rivet_jit_lookup(jit, name, &addr);
    if (e) {
        fprintf(stderr, "lookup %s: %s\n", name, rivet_error_message(e));
        rivet_error_free(e);
        return -1;
    }
    return ((int_fn)(uintptr_t)addr)();
}

/* Shared with the JIT'd code: destructors and handlers record here. */
int rivet_test_log[16];
int rivet_test_log_count;

static void test_failed_link_leaves_nothing(void) {
    rivet_jit *jit;
    CHECK_OK(rivet_jit_create(NULL, &jit));
    const char *a = compile("a", "int base = 40; int get_a(void) { return base + 2; }\n");
    CHECK_OK(rivet_jit_add_file(jit, a));
    CHECK_OK(rivet_jit_link(jit, NULL));
    CHECK(call(jit, "get_a") == 42);

    /* missing two names: one error naming both, nothing published */
    const char *bad = compile("bad", "int m1(void); int m2(void);\n"
                                     "int get_bad(void) { return m1() + m2(); }\n");
    CHECK_OK(rivet_jit_add_file(jit, bad));
    rivet_error *e = rivet_jit_link(jit, NULL);
    CHECK(e && rivet_error_get_code(e) == RIVET_ERR_UNDEFINED);
    CHECK(e && strstr(rivet_error_message(e), "m1") && strstr(rivet_error_message(e), "m2"));
    rivet_error_free(e);
    uint64_t addr;
    CHECK_FAILS(rivet_jit_lookup(jit, "get_bad", &addr), RIVET_ERR_NOT_FOUND);

    /* the earlier link is untouched, and a later link still reaches it */
    CHECK(call(jit, "get_a") == 42);
    const char *b = compile("b", "int get_a(void);\nextern int base;\n"
                                 "int get_b(void) { base++; return get_a() * 10; }\n");
    CHECK_OK(rivet_jit_add_file(jit, b));
    CHECK_OK(rivet_jit_link(jit, NULL));
    CHECK(call(jit, "get_b") == 430);
    rivet_jit_destroy(jit);
}

static void test_remove_runs_destructors(void) {
    rivet_jit *jit;
    CHECK_OK(rivet_jit_create(NULL, &jit));
    const char *d = compile("d",
        "#include <stdlib.h>\n"
        "extern int rivet_test_log[16]; extern int rivet_test_log_count;\n"
        "static void rec(int v) { rivet_test_log[rivet_test_log_count++] = v; }\n"
        "static void handler(void) { rec(2); }\n"
        "__attribute__((constructor)) static void ctor(void) { rec(1); atexit(handler); }\n"
        "__attribute__((destructor)) static void dtor(void) { rec(3); }\n"
        "int alive(void) { return 7; }\n");
    rivet_link *link;
    rivet_test_log_count = 0;
    CHECK_OK(rivet_jit_add_file(jit, d));
    CHECK_OK(rivet_jit_link(jit, &link));
    CHECK(rivet_test_log_count == 1 && rivet_test_log[0] == 1);
    CHECK(call(jit, "alive") == 7);
    CHECK_OK(rivet_jit_remove(jit, link));
    /* the atexit handler registered by the constructor runs before the
     * destructor, as at the exit of a natively linked program */
    CHECK(rivet_test_log_count == 3 && rivet_test_log[1] == 2 && rivet_test_log[2] == 3);
    uint64_t addr;
    CHECK_FAILS(rivet_jit_lookup(jit, "alive", &addr), RIVET_ERR_NOT_FOUND);

    /* the same object links again into the memory just freed */
    CHECK_OK(rivet_jit_add_file(jit, d));
    CHECK_OK(rivet_jit_link(jit, &link));
    CHECK(call(jit, "alive") == 7);
    rivet_jit_destroy(jit); /* runs the second copy's destructor */
    CHECK(rivet_test_log_count == 6);
}

/* A -fno-pic link (placed below 2 GiB) that reads libc's read-only
 * in6addr_loopback gets a copy relocation; removing the link must not
 * write the copy back into libc's read-only pages. */
static void test_copy_relocation_of_read_only_data(void) {
    rivet_jit *jit;
    CHECK_OK(rivet_jit_create(NULL, &jit));
    const char *o = compile("ro.s",
        "    .text\n"
        "    .globl loop6\n"
        "loop6:\n"
        "    movzbl in6addr_loopback+15(%rip), %eax\n"
        "    movl $table, %ecx\n" /* absolute: the link goes below 2 GiB */
        "    ret\n"
        "    .data\n"
        "table: .long 1\n");
    rivet_link *link;
    CHECK_OK(rivet_jit_add_file(jit, o));
    CHECK_OK(rivet_jit_link(jit, &link));
    CHECK(call(jit, "loop6") == 1);
    CHECK_OK(rivet_jit_remove(jit, link));
    CHECK_OK(rivet_jit_add_file(jit, o));
    CHECK_OK(rivet_jit_link(jit, &link));
    CHECK(call(jit, "loop6") == 1);
    rivet_jit_destroy(jit); /* undoes it again */
}

/* Removing one of several links takes its names out of the export table:
 * looking them up fails, the other link's names still resolve. */
static void test_remove_one_of_two(void) {
    rivet_jit *jit;
    CHECK_OK(rivet_jit_create(NULL, &jit));
    rivet_link *first, *second;
    CHECK_OK(rivet_jit_add_file(jit, compile("first", "int from_first(void) { return 11; }\n")));
    CHECK_OK(rivet_jit_link(jit, &first));
    CHECK_OK(rivet_jit_add_file(jit, compile("second", "int from_second(void) { return 22; }\n")));
    CHECK_OK(rivet_jit_link(jit, &second));
    CHECK_OK(rivet_jit_remove(jit, first));
    uint64_t addr = 0;
    CHECK_FAILS(rivet_jit_lookup(jit, "from_first", &addr), RIVET_ERR_NOT_FOUND);
    CHECK(call(jit, "from_second") == 22);
    /* the name can be defined again */
    CHECK_OK(rivet_jit_add_file(jit, compile("again", "int from_first(void) { return 33; }\n")));
    CHECK_OK(rivet_jit_link(jit, &first));
    CHECK(call(jit, "from_first") == 33);
    rivet_jit_destroy(jit);
}

static void test_duplicates_and_comdat(void) {
    rivet_jit *jit;
    CHECK_OK(rivet_jit_create(NULL, &jit));
    const char *x = compile("x", "int dup(void) { return 1; }\n"
                                 "__attribute__((weak)) int soft(void) { return 5; }\n");
    const char *y = compile("y", "int dup(void) { return 2; }\n");
    CHECK_OK(rivet_jit_add_file(jit, x));
    CHECK_OK(rivet_jit_link(jit, NULL));
    CHECK_OK(rivet_jit_add_file(jit, y));
    rivet_error *e = rivet_jit_link(jit, NULL);
    CHECK(e && rivet_error_get_code(e) == RIVET_ERR_DUPLICATE);
    CHECK(e && strstr(rivet_error_message(e), "dup"));
    rivet_error_free(e);
    CHECK(call(jit, "dup") == 1);
    /* a weak definition in a later link does not replace the first */
    const char *z = compile("z", "__attribute__((weak)) int soft(void) { return 6; }\n"
                                 "int soft_z(void) { return soft(); }\n");
    CHECK_OK(rivet_jit_add_file(jit, z));
    CHECK_OK(rivet_jit_link(jit, NULL));
    CHECK(call(jit, "soft") == 5);
    rivet_jit_destroy(jit);
}

/* A COMDAT group kept by one link is dropped from later ones, whose
 * references bind to the kept copy. */
static void test_comdat_across_links(void) {
    static const char group[] =
        "  .section .text.cf,\"axG\",@progbits,cf,comdat\n"
        "  .globl cf\n  .weak cf\n  .type cf,@function\n"
        "cf: movl $%d, %%eax\n  ret\n";
    char one[512], two[768];
    snprintf(one, sizeof one, group, 1);
    snprintf(two, sizeof two, group, 2); /* the second copy returns 2 */
    strcat(two, "  .text\n  .globl use2\n  .type use2,@function\nuse2: jmp cf\n");
    rivet_jit *jit;
    CHECK_OK(rivet_jit_create(NULL, &jit));
    CHECK_OK(rivet_jit_add_file(jit, compile("g1.s", one)));
    CHECK_OK(rivet_jit_link(jit, NULL));
    CHECK_OK(rivet_jit_add_file(jit, compile("g2.s", two)));
    CHECK_OK(rivet_jit_link(jit, NULL));
    CHECK(call(jit, "use2") == 1);
    rivet_jit_destroy(jit);
}

/* Memory of removed links is merged with its free neighbours and reused:
 * two adjacent one-page links make room for a two-page one. */
static void test_freed_memory_coalesces(void) {
    rivet_jit *jit;
    CHECK_OK(rivet_jit_create(NULL, &jit));
    const char *a = compile("ma", "int in_a[900] = {1};\n");
    const char *b = compile("mb", "int in_b[900] = {1};\n");
    const char *c = compile("mc", "int in_c[900] = {1};\n");
    const char *d = compile("md", "int in_d[1500] = {1};\n");
    rivet_link *la, *lb;
    uint64_t addr_a = 0, addr_d = 0;
    CHECK_OK(rivet_jit_add_file(jit, a));
    CHECK_OK(rivet_jit_link(jit, &la));
    CHECK_OK(rivet_jit_add_file(jit, b));
    CHECK_OK(rivet_jit_link(jit, &lb));
    CHECK_OK(rivet_jit_add_file(jit, c));
    CHECK_OK(rivet_jit_link(jit, NULL)); /* keeps a and b off the bump end */
    CHECK_OK(rivet_jit_lookup(jit, "in_a", &addr_a));
    CHECK_OK(rivet_jit_remove(jit, lb));
    CHECK_OK(rivet_jit_remove(jit, la));
    CHECK_OK(rivet_jit_add_file(jit, d));
    CHECK_OK(rivet_jit_link(jit, NULL));
    CHECK_OK(rivet_jit_lookup(jit, "in_d", &addr_d));
    CHECK(addr_d == addr_a);
    rivet_jit_destroy(jit);
}

static void test_bad_bytes(void) {
    rivet_jit *jit;
    CHECK_OK(rivet_jit_create(NULL, &jit));
    static const char junk[] = "\177ELF this is not an object";
    CHECK_OK(rivet_jit_add_buffer(jit, "junk.o", junk, sizeof junk));
    rivet_error *e = rivet_jit_link(jit, NULL);
    CHECK(e && strstr(rivet_error_message(e), "junk.o"));
    rivet_error_free(e);
    CHECK_FAILS(rivet_jit_add_file(jit, "/nonexistent/x.o"), RIVET_ERR_IO);
    rivet_jit_destroy(jit);
}

/* Links of 1 MiB or more go on a 2 MiB boundary past the slab's first
 * 2 MiB (the part offered to huge pages); small links share the first
 * 2 MiB, and the gap a large link leaves. */
static void test_large_links_on_huge_pages(void) {
    rivet_jit *jit;
    CHECK_OK(rivet_jit_create(NULL, &jit));
    uint64_t small1 = 0, large = 0, small2 = 0;
    CHECK_OK(rivet_jit_add_file(jit, compile("small1", "int small_one(void) { return 1; }\n")));
    CHECK_OK(rivet_jit_link(jit, NULL));
    CHECK_OK(rivet_jit_add_file(jit, compile("large",
        "char large_data[1200000] = {5};\n"
        "int large_one(void) { return large_data[0] + large_data[1199999]; }\n")));
    CHECK_OK(rivet_jit_link(jit, NULL));
    CHECK_OK(rivet_jit_add_file(jit, compile("small2", "int small_two(void) { return 2; }\n")));
    CHECK_OK(rivet_jit_link(jit, NULL));
    CHECK_OK(rivet_jit_lookup(jit, "small_one", &small1));
    CHECK_OK(rivet_jit_lookup(jit, "large_one", &large));
    CHECK_OK(rivet_jit_lookup(jit, "small_two", &small2));
    CHECK(jit->slabs.count == 1);
    if (jit->slabs.count == 1) {
        uint64_t base = ((rv_slab *)jit->slabs.items[0])->base;
        const uint64_t huge = 2u << 20;
        CHECK(small1 >= base && small1 < base + huge);
        CHECK(small2 > small1 && small2 < base + huge); /* in the gap */
        CHECK(large >= base + huge);
        /* the link's first segment (its code) starts the 2 MiB block */
        CHECK((large & ~(huge - 1)) >= base + huge && large - (large & ~(huge - 1)) < 4096);
    }
    CHECK(call(jit, "large_one") == 5 && call(jit, "small_two") == 2);
    rivet_jit_destroy(jit);
}

/* A spawned executor on this machine has each link written straight into
 * its memory. Where the system refuses that (here a process that no
 * longer exists stands in for one this process may not write), the next
 * link's bytes are sent instead, and runs alike. */
static void test_spawned_executor_direct_writes(void) {
    rivet_executor *ex = check_spawn_built_executor();
    rivet_jit *jit = NULL;
    if (!ex)
        return;
    CHECK_OK(rivet_jit_create(ex, &jit));
    if (!jit) {
        rivet_executor_destroy(ex);
        return;
    }
    int status = -1;
    /* connected, the executor is asked for a slab at once; a link that
     * fails in resolution leaves the answer for the next link to use */
    CHECK_OK(rivet_jit_add_file(jit, compile("undefined",
        "int nowhere_to_be_found(void);\n"
        "int use(void) { return nowhere_to_be_found(); }\n")));
    CHECK_FAILS(rivet_jit_link(jit, NULL), RIVET_ERR_UNDEFINED);
    CHECK(jit->slab_ahead != NULL && jit->slabs.count == 0);
    CHECK_OK(rivet_jit_add_file(jit, compile("direct",
        "int data = 5; int bss[3000];\n"
        "int first(void) { bss[2999] += data; return bss[2999] + 37; }\n")));
    CHECK_OK(rivet_jit_link(jit, NULL));
    CHECK(ex->local_pid != 0 && !ex->no_direct_writes);
    CHECK(jit->slab_ahead == NULL && jit->slabs.count == 1);
    CHECK_OK(rivet_jit_run_main(jit, "first", 0, NULL, NULL, &status));
    CHECK(status == 42);

    uint64_t real = ex->local_pid;
    pid_t gone = fork();
    if (gone == 0)
        _exit(0);
    waitpid(gone, NULL, 0);
    ex->local_pid = (uint64_t)gone;
    CHECK_OK(rivet_jit_add_file(jit, compile("sent",
        "int second_data[3000] = {1}; int more[100];\n"
        "int second(void) { return second_data[0] + more[99] + 6; }\n")));
    CHECK_OK(rivet_jit_link(jit, NULL));
    CHECK(ex->no_direct_writes);
    ex->local_pid = real;
    status = -1;
    CHECK_OK(rivet_jit_run_main(jit, "second", 0, NULL, NULL, &status));
    CHECK(status == 7);
    status = -1;
    CHECK_OK(rivet_jit_run_main(jit, "first", 0, NULL, NULL, &status));
    CHECK(status == 47);
    rivet_jit_destroy(jit);
    rivet_executor_destroy(ex);
}

int main(void) {
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_failed_link_leaves_nothing();
    test_remove_runs_destructors();
    test_copy_relocation_of_read_only_data();
    test_remove_one_of_two();
    test_duplicates_and_comdat();
    test_comdat_across_links();
    test_freed_memory_coalesces();
    test_bad_bytes();
    test_large_links_on_huge_pages();
    test_spawned_executor_direct_writes();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_report("test_jit");
}
