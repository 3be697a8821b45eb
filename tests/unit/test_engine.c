/* Checks the engine: compilation is deferred to the first lookup, a cache
 * hit runs no compiler, header edits and corrupt entries recompile, two
 * processes can fill the cache at once, remapped sections are fixed up for
 * the addresses the client copies them to, a memory manager places code,
 * the symbol resolver feeds JIT'd code, and removing a module runs its
 * destructors. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "rivet/engine.h"
#include "rivet/rt.h"

static char root[256];      /* private temporary directory */
static char cache_dir[300]; /* $XDG_CACHE_HOME/rivet */
static char log_path[300];  /* one line per compiler run by the CC wrapper */

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
}

/* Compiles (not --version runs) the wrapper logged so far. */
static int compiles(void) {
    FILE *f = fopen(log_path, "r");
    int n = 0;
    char line[4096];
    while (f && fgets(line, sizeof line, f))
        n += strncmp(line, "-c ", 3) == 0 || strstr(line, " -c ") != NULL;
    if (f)
        fclose(f);
    return n;
}

static void setup(void) {
    snprintf(root, sizeof root, "%s/rivet-engine-test-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        exit(2);
    }
    char path[400], text[1024];
    snprintf(log_path, sizeof log_path, "%s/cc.log", root);
    snprintf(path, sizeof path, "%s/cc-wrapper", root);
    snprintf(text, sizeof text, "#!/bin/sh\necho \"$*\" >> '%s'\nexec cc \"$@\"\n", log_path);
    write_file(path, text);
    chmod(path, 0755);
    setenv("CC", path, 1);
    setenv("XDG_CACHE_HOME", root, 1);
    snprintf(cache_dir, sizeof cache_dir, "%s/rivet", root);
}

static void cleanup(void) {
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
}

static rivet_engine *engine_for_source_module(const char *name, const char *text,
                                              rivet_module **m) {
    rivet_engine_builder *b;
    rivet_engine *e = NULL;
    CHECK_OK(rivet_engine_builder_create(&b));
    CHECK_OK(rivet_engine_builder_add_source(b, RIVET_MODULE_C, name, text, m));
    CHECK_OK(rivet_engine_create(b, &e));
    rivet_engine_builder_destroy(b);
    return e;
}

static rivet_engine *engine_for_source(const char *name, const char *text) {
    return engine_for_source_module(name, text, NULL);
}

static int call_int(rivet_engine *e, const char *name) {
    int r = -1;
    CHECK_OK(rivet_engine_call(e, name, &r));
    return r;
}

static void test_deferred_then_cached(void) {
    const char *src = "int answer(void) { return 42; }\n";
    rivet_engine *e = engine_for_source("answer.c", src);
    CHECK(compiles() == 0); /* created, nothing compiled */
    uint64_t addr = 0;
    CHECK_OK(rivet_engine_lookup(e, "answer", &addr));
    CHECK(compiles() == 1 && addr != 0);
    CHECK(((int (*)(void))(uintptr_t)addr)() == 42);
    rivet_engine_destroy(e);

    e = engine_for_source("answer.c", src);
    CHECK(call_int(e, "answer") == 42);
    CHECK(compiles() == 1); /* a cache hit runs no compiler */
    rivet_engine_destroy(e);
}

static void test_header_edit_recompiles(void) {
    char h[400], c[400];
    snprintf(h, sizeof h, "%s/value.h", root);
    snprintf(c, sizeof c, "%s/value.c", root);
    write_file(h, "#define VALUE 1\n");
    write_file(c, "#include \"value.h\"\nint value(void) { return VALUE; }\n");
    for (int round = 0; round < 3; round++) {
        if (round == 2)
            write_file(h, "#define VALUE 2\n");
        int before = compiles();
        rivet_engine_builder *b;
        rivet_engine *e = NULL;
        CHECK_OK(rivet_engine_builder_create(&b));
        CHECK_OK(rivet_engine_builder_add_file(b, c, NULL));
        CHECK_OK(rivet_engine_create(b, &e));
        rivet_engine_builder_destroy(b);
        CHECK(call_int(e, "value") == (round == 2 ? 2 : 1));
        CHECK(compiles() == before + (round == 1 ? 0 : 1));
        rivet_engine_destroy(e);
    }
}

/* Damage every cache entry: flip a payload byte, or cut the file short. */
static int damage_entries(bool truncate_them) {
    DIR *d = opendir(cache_dir);
    int n = 0;
    char path[700];
    for (struct dirent *de; d && (de = readdir(d));) {
        if (!strstr(de->d_name, ".rvc"))
            continue;
        snprintf(path, sizeof path, "%s/%s", cache_dir, de->d_name);
        FILE *f = fopen(path, "r+");
        if (!f)
            continue;
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        if (truncate_them) {
            CHECK(truncate(path, size / 2) == 0);
        } else {
            fseek(f, size - 10, SEEK_SET);
            int ch = fgetc(f);
            fseek(f, size - 10, SEEK_SET);
            fputc(ch ^ 0x5a, f);
        }
        fclose(f);
        n++;
    }
    if (d)
        closedir(d);
    return n;
}

static void test_corrupt_entry_recompiles(void) {
    const char *src = "int corrupt(void) { return 7; }\n";
    for (int round = 0; round < 2; round++) {
        rivet_engine *e = engine_for_source("corrupt.c", src);
        CHECK(call_int(e, "corrupt") == 7);
        rivet_engine_destroy(e);
        CHECK(damage_entries(round == 1) > 0);
        int before = compiles();
        e = engine_for_source("corrupt.c", src);
        CHECK(call_int(e, "corrupt") == 7);
        CHECK(compiles() == before + 1);
        rivet_engine_destroy(e);
    }
}

static void test_concurrent_fill(void) {
    const char *src = "int together(void) { return 5; }\n";
    pid_t kids[4];
    for (int i = 0; i < 4; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            rivet_engine *e = engine_for_source("together.c", src);
            int r = -1;
            rivet_error *err = e ? rivet_engine_call(e, "together", &r) : NULL;
            rivet_error_free(err);
            rivet_engine_destroy(e);
            _exit(r == 5 && !err ? 0 : 1);
        }
    }
    for (int i = 0; i < 4; i++) {
        int status = -1;
        CHECK(waitpid(kids[i], &status, 0) == kids[i]);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    int before = compiles();
    rivet_engine *e = engine_for_source("together.c", src);
    CHECK(call_int(e, "together") == 5);
    CHECK(compiles() == before); /* the entry one of them stored is good */
    rivet_engine_destroy(e);
}

/* -------------------------------------------------------------- remapping */

static const char *const remap_src =
    "static int table[4] = {1, 2, 3, 4};\n"
    "int counter;\n"
    "int sum(void) { int s = 0; for (int i = 0; i < 4; i++) s += table[i];\n"
    "                return s + counter++; }\n"
    "int (*sum_address(void))(void) { return sum; }\n"
    "int *table_address(void) { return table; }\n";

static int prot_of(uint8_t p) {
    return (p & RIVET_PROT_READ ? PROT_READ : 0) |
           (p & RIVET_PROT_WRITE ? PROT_WRITE : 0) |
           (p & RIVET_PROT_EXEC ? PROT_EXEC : 0);
}

#define REGION_PAGES 64
#define PAGE 4096

/* Client-owned memory at an address of our choosing. */
static uint8_t *map_region(void) {
    void *want = (void *)(uintptr_t)0x300000000000ull;
    void *p = mmap(want, REGION_PAGES * PAGE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED)
        p = mmap(NULL, REGION_PAGES * PAGE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* Copy each fixed-up section to the address it was remapped to, then give
 * it its permissions (one page per section). */
static void copy_and_protect(rivet_link *link) {
    size_t n = rivet_link_section_count(link);
    for (size_t i = 0; i < n; i++) {
        rivet_section_info s;
        rivet_link_section_at(link, i, &s);
        if (s.size)
            memcpy((void *)(uintptr_t)s.addr, s.working, s.size);
        CHECK(mprotect((void *)(uintptr_t)(s.addr & ~(uint64_t)(PAGE - 1)), PAGE,
                       prot_of(s.prot)) == 0);
    }
}

static void test_remap_and_copy(void) {
    rivet_module *m = NULL;
    rivet_engine *e = engine_for_source_module("remap.c", remap_src, &m);
    CHECK_OK(rivet_engine_load(e));
    size_t n = rivet_engine_section_count(e);
    uint8_t *region = map_region();
    CHECK(n > 0 && n < REGION_PAGES && region != NULL);
    if (!region || n == 0 || n >= REGION_PAGES)
        return;
    for (size_t i = 0; i < n; i++) {
        rivet_engine_section s;
        CHECK_OK(rivet_engine_section_at(e, i, &s));
        CHECK(s.working != NULL && s.addr != 0);
        CHECK_OK(rivet_engine_map_section_address(e, i, (uintptr_t)(region + i * PAGE)));
    }
    for (size_t i = 0; i < n; i++) { /* a misaligned address is refused */
        rivet_engine_section s;
        CHECK_OK(rivet_engine_section_at(e, i, &s));
        if (s.align > 1) {
            CHECK_FAILS(rivet_engine_map_section_address(e, i, s.addr + 1),
                        RIVET_ERR_RANGE);
            break;
        }
    }
    CHECK_OK(rivet_engine_finalize(e));
    CHECK_FAILS(rivet_engine_map_section_address(e, 0, 0), RIVET_ERR_STATE);
    CHECK(rivet_module_link(m) != NULL);
    copy_and_protect(rivet_module_link(m));
    uint64_t sum = 0, sum_address = 0, table_address = 0;
    CHECK_OK(rivet_engine_lookup(e, "sum", &sum));
    CHECK_OK(rivet_engine_lookup(e, "sum_address", &sum_address));
    CHECK_OK(rivet_engine_lookup(e, "table_address", &table_address));
    uintptr_t lo = (uintptr_t)region, hi = lo + n * PAGE;
    CHECK(sum >= lo && sum < hi && sum_address >= lo && sum_address < hi);
    /* run them there */
    int (*fn)(void) = (int (*)(void))(uintptr_t)sum;
    CHECK(fn() == 10 && fn() == 11);
    CHECK((uint64_t)(uintptr_t)((int (*(*)(void))(void))(uintptr_t)sum_address)() == sum);
    int *table = ((int *(*)(void))(uintptr_t)table_address)();
    CHECK((uintptr_t)table >= lo && (uintptr_t)table < hi && table[3] == 4);
    rivet_engine_destroy(e);
    munmap(region, REGION_PAGES * PAGE);
}

/* A memory manager that bump-allocates in one client region. */
typedef struct test_mm {
    uint8_t *region;
    size_t used, sections;
    bool finalized;
} test_mm;

static rivet_error *mm_allocate(void *ctx, const rivet_engine_section *s,
                                uint64_t *addr, void **host) {
    test_mm *mm = ctx;
    size_t at = (mm->used + PAGE - 1) & ~(size_t)(PAGE - 1);
    if (at + s->size > REGION_PAGES * PAGE)
        return rivet_error_create(RIVET_ERR_NOMEM, "test region full");
    mm->used = at + (s->size ? s->size : 1);
    mm->sections++;
    *addr = (uintptr_t)(mm->region + at);
    *host = mm->region + at;
    return NULL;
}

static rivet_error *mm_finalize(void *ctx) {
    test_mm *mm = ctx;
    mm->finalized = true;
    return mprotect(mm->region, REGION_PAGES * PAGE, PROT_READ | PROT_EXEC) == 0
               ? NULL : rivet_error_create(RIVET_ERR_GENERIC, "mprotect failed");
}

static void test_memory_manager(void) {
    test_mm mm = {.region = map_region()};
    CHECK(mm.region != NULL);
    if (!mm.region)
        return;
    rivet_memory_manager iface = {&mm, mm_allocate, mm_finalize};
    rivet_engine_builder *b;
    rivet_engine *e = NULL;
    CHECK_OK(rivet_engine_builder_create(&b));
    rivet_engine_builder_set_memory_manager(b, &iface);
    rivet_engine_builder_set_object_cache(b, RIVET_CACHE_NONE, NULL);
    CHECK_OK(rivet_engine_builder_add_source(b, RIVET_MODULE_C, "mm.c",
        "static const int k[2] = {3, 4};\n"
        "int mm_fn(void) { return k[0] * k[1]; }\n", NULL));
    CHECK_OK(rivet_engine_create(b, &e));
    rivet_engine_builder_destroy(b);
    int before = compiles();
    uint64_t addr = 0;
    CHECK_OK(rivet_engine_lookup(e, "mm_fn", &addr));
    CHECK(compiles() == before + 1); /* no cache: compiled */
    CHECK(mm.sections > 0 && mm.finalized);
    CHECK(addr >= (uintptr_t)mm.region && addr < (uintptr_t)mm.region + mm.used);
    CHECK(((int (*)(void))(uintptr_t)addr)() == 12);
    rivet_engine_destroy(e);
    munmap(mm.region, REGION_PAGES * PAGE);
}

/* ------------------------------------------- resolver, ctors, dtors, kinds */

int test_flag; /* written by JIT'd constructors and destructors */

static uint64_t resolve(void *ctx, const char *name) {
    (void)ctx;
    return strcmp(name, "test_flag") == 0 ? (uintptr_t)&test_flag : 0;
}

static void test_remove_runs_destructors(void) {
    rivet_engine_builder *b;
    rivet_engine *e = NULL;
    rivet_module *m = NULL;
    CHECK_OK(rivet_engine_builder_create(&b));
    rivet_engine_builder_set_symbol_resolver(b, resolve, NULL);
    CHECK_OK(rivet_engine_builder_add_source(b, RIVET_MODULE_C, "dtor.c",
        "extern int test_flag;\n"
        "__attribute__((constructor)) static void hello(void) { test_flag = 7; }\n"
        "__attribute__((destructor)) static void bye(void) { test_flag = 42; }\n"
        "int flag_now(void) { return test_flag; }\n", &m));
    CHECK_OK(rivet_engine_create(b, &e));
    rivet_engine_builder_destroy(b);
    test_flag = 0;
    CHECK_OK(rivet_engine_finalize(e));
    CHECK(test_flag == 7);
    CHECK(call_int(e, "flag_now") == 7);
    CHECK_OK(rivet_engine_remove_module(e, m));
    CHECK(test_flag == 42);
    uint64_t addr;
    CHECK_FAILS(rivet_engine_lookup(e, "flag_now", &addr), RIVET_ERR_NOT_FOUND);
    rivet_engine_destroy(e);
}

static void test_module_kinds(void) {
    rivet_engine_builder *b;
    rivet_engine *e = NULL;
    const char *flags[] = {"-O1", "-DTHREE=3", "-std=c++17", "-std=c11"};
    CHECK_OK(rivet_engine_builder_create(&b));
    CHECK_OK(rivet_engine_builder_add_flags(b, flags, 4));
    CHECK_OK(rivet_engine_builder_add_source(b, RIVET_MODULE_C, "c.c",
        "int from_c(void) { return THREE; }\n", NULL));
    CHECK_OK(rivet_engine_builder_add_source(b, RIVET_MODULE_CXX, "cxx.cpp",
        "#include <string>\n"
        "struct Base { virtual int f() { return 1; } virtual ~Base() {} };\n"
        "struct Four : Base { int f() override { return std::string(\"four\").size(); } };\n"
        "extern \"C\" int from_cxx() { Base *b = new Four; int r = b->f(); delete b; return r; }\n",
        NULL));
    CHECK_OK(rivet_engine_builder_add_source(b, RIVET_MODULE_ASM, "asm.s",
        "  .text\n  .globl from_asm\nfrom_asm:\n  movl $5, %eax\n  ret\n", NULL));
    CHECK_OK(rivet_engine_builder_add_source(b, RIVET_MODULE_LLVM_IR, "ir.ll",
        "define i32 @from_ir() {\n  ret i32 6\n}\n", NULL));
    CHECK_OK(rivet_engine_create(b, &e));
    rivet_engine_builder_destroy(b);
    CHECK(call_int(e, "from_c") == 3);
    CHECK(call_int(e, "from_cxx") == 4);
    CHECK(call_int(e, "from_asm") == 5);
    CHECK(call_int(e, "from_ir") == 6);
    rivet_engine_destroy(e);
}

static void test_compile_error(void) {
    rivet_engine_builder *b;
    rivet_engine *e = NULL;
    rivet_module *bad = NULL;
    CHECK_OK(rivet_engine_builder_create(&b));
    CHECK_OK(rivet_engine_builder_add_source(b, RIVET_MODULE_C, "bad.c",
        "int broken(void) { return undeclared_name; }\n", &bad));
    CHECK_OK(rivet_engine_create(b, &e));
    rivet_engine_builder_destroy(b);
    uint64_t addr;
    rivet_error *err = rivet_engine_lookup(e, "broken", &addr);
    CHECK(err && strstr(rivet_error_message(err), "bad.c") &&
          strstr(rivet_error_message(err), "undeclared_name"));
    rivet_error_free(err);
    /* the engine stays usable */
    CHECK_OK(rivet_engine_remove_module(e, bad));
    CHECK_OK(rivet_engine_add_source(e, RIVET_MODULE_C, "good.c",
                                     "int fixed(void) { return 1; }\n", NULL));
    CHECK(call_int(e, "fixed") == 1);
    CHECK_FAILS(rivet_engine_add_file(e, "prog.xyz", NULL), RIVET_ERR_UNSUPPORTED);
    rivet_engine_destroy(e);
}

/* The disk cache alone: round trip, LRU eviction past the limit, clear. */
static void set_used(const char *dir, const char *key, time_t when) {
    char path[700];
    snprintf(path, sizeof path, "%s/%s.rvc", dir, key);
    struct timespec t[2] = {{when, 0}, {when, 0}};
    CHECK(utimensat(AT_FDCWD, path, t, 0) == 0);
}

static void test_disk_cache_eviction(void) {
    char dir[400];
    snprintf(dir, sizeof dir, "%s/lru", root);
    rivet_disk_cache *c;
    CHECK_OK(rivet_disk_cache_open(dir, &c));
    rivet_disk_cache_set_max_size(c, 2500); /* two entries of 1000 + frame */
    rivet_object_cache oc = rivet_disk_cache_interface(c);
    static char blob[1000];
    void *data;
    size_t size;
    CHECK(!oc.get(oc.ctx, "aaaa", &data, &size));
    memset(blob, 'a', sizeof blob);
    oc.put(oc.ctx, "aaaa", blob, sizeof blob);
    memset(blob, 'b', sizeof blob);
    oc.put(oc.ctx, "bbbb", blob, sizeof blob);
    time_t now = time(NULL);
    set_used(dir, "aaaa", now - 10); /* a was used after b */
    set_used(dir, "bbbb", now - 20);
    memset(blob, 'c', sizeof blob);
    oc.put(oc.ctx, "cccc", blob, sizeof blob); /* over the limit: b goes */
    rivet_cache_stats st;
    CHECK_OK(rivet_disk_cache_stats(c, &st));
    CHECK(st.entries == 2 && st.bytes <= 2500 && st.max_bytes == 2500);
    CHECK(oc.get(oc.ctx, "aaaa", &data, &size) && size == 1000 &&
          ((char *)data)[999] == 'a');
    free(data);
    CHECK(!oc.get(oc.ctx, "bbbb", &data, &size));
    CHECK(oc.get(oc.ctx, "cccc", &data, &size) && size == 1000);
    free(data);
    CHECK(!oc.get(oc.ctx, "../escape", &data, &size)); /* keys are names only */
    CHECK_OK(rivet_disk_cache_clear(c));
    CHECK_OK(rivet_disk_cache_stats(c, &st));
    CHECK(st.entries == 0 && st.bytes == 0);
    rivet_disk_cache_close(c);
}

int main(void) {
    setup();
    test_deferred_then_cached();
    test_header_edit_recompiles();
    test_corrupt_entry_recompiles();
    test_concurrent_fill();
    test_remap_and_copy();
    test_memory_manager();
    test_remove_runs_destructors();
    test_module_kinds();
    test_compile_error();
    test_disk_cache_eviction();
    cleanup();
    return check_report("test_engine");
}
