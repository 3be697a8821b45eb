/* Checks the memory map: reserve/initialize/deinitialize/release, content
 * copy and zero fill, protections really applied, action order and
 * rollback, refused requests, batches, and slab placement. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "rivet/rt.h"
#include "sys/sys.h"

#define PAGE 4096

static char action_log[256];

/* Actions log "<F|D><arg>"; an argument starting with '!' fails. */
static char *log_finalize(const char *arg, size_t n)
{
    strcat(action_log, "F");
    strncat(action_log, arg, n);
    return n && arg[0] == '!' ? strdup("refused") : NULL;
}

static char *log_dealloc(const char *arg, size_t n)
{
    strcat(action_log, "D");
    strncat(action_log, arg, n);
    return NULL;
}

static rivet_action_pair pair(const char *name)
{
    rivet_action_pair p = {
        {(uint64_t)(uintptr_t)log_finalize, name, strlen(name)},
        {(uint64_t)(uintptr_t)log_dealloc, name, strlen(name)},
    };
    return p;
}

/* The permission string ("r-xp") of the /proc/self/maps line holding addr. */
static void perms_at(uint64_t addr, char out[5])
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    strcpy(out, "????");
    while (f && fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        char perms[5];
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 && addr >= lo &&
            addr < hi) {
            strcpy(out, perms);
            break;
        }
    }
    if (f)
        fclose(f);
}

static int perms_are(uint64_t addr, const char *expect)
{
    char p[5];
    perms_at(addr, p);
    return strcmp(p, expect) == 0;
}

/* Writing to addr in a child process must kill it with SIGSEGV. */
static int write_faults(uint64_t addr)
{
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL); /* a sanitizer's handler would abort */
        *(volatile char *)(uintptr_t)addr = 1;
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV;
}

static int all_zero(uint64_t addr, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (((const char *)(uintptr_t)addr)[i])
            return 0;
    return 1;
}

static rivet_memory_map *new_map(void)
{
    rivet_memory_map *mm;
    CHECK_OK(rivet_memory_map_create(&mm));
    return mm;
}

static void destroy_map(rivet_memory_map *mm)
{
    rivet_service *svc = rivet_memory_map_service(mm);
    svc->ops->on_shutdown(svc, NULL);
    svc->ops->destroy(svc);
}

static void test_lifecycle(void)
{
    rivet_memory_map *mm = new_map();
    uint64_t slab = 0, region = 0;
    CHECK_OK(rivet_memory_map_reserve(mm, 5 * PAGE + 1, RIVET_PLACE_ANYWHERE, &slab));
    CHECK(perms_are(slab, "rw-p"));
    memset((void *)(uintptr_t)slab, 0x55, PAGE); /* reserved memory is writable */
    rivet_segment segs[2] = {
        {slab, PAGE + 100, "\x90\xc3", 2, RIVET_PROT_READ | RIVET_PROT_EXEC, false},
        {slab + 2 * PAGE, 10, "data", 4, RIVET_PROT_READ, false},
    };
    rivet_action_pair actions[3] = {pair("a"), pair("b"), pair("c")};
    rivet_initialize_request req = {segs, 2, actions, 3};
    action_log[0] = '\0';
    CHECK_OK(rivet_memory_map_initialize(mm, &req, &region));
    CHECK(region == slab);
    CHECK(strcmp(action_log, "FaFbFc") == 0);
    CHECK(memcmp((void *)(uintptr_t)slab, "\x90\xc3", 2) == 0);
    CHECK(all_zero(slab + 2, PAGE + 98)); /* old 0x55 bytes were cleared */
    CHECK(memcmp((void *)(uintptr_t)(slab + 2 * PAGE), "data", 4) == 0);
    CHECK(perms_are(slab, "r-xp") && perms_are(slab + PAGE, "r-xp"));
    CHECK(perms_are(slab + 2 * PAGE, "r--p"));
    CHECK(write_faults(slab + 2 * PAGE) && write_faults(slab));
    CHECK(!write_faults(slab + 3 * PAGE)); /* still reserved: writable */
    action_log[0] = '\0';
    CHECK_OK(rivet_memory_map_deinitialize(mm, region));
    CHECK(strcmp(action_log, "DcDbDa") == 0);
    CHECK(perms_are(slab, "rw-p") && perms_are(slab + 2 * PAGE, "rw-p"));
    CHECK(all_zero(slab, 3 * PAGE));
    CHECK_FAILS(rivet_memory_map_deinitialize(mm, region), RIVET_ERR_NOT_FOUND);
    /* the same pages can be initialized again */
    CHECK_OK(rivet_memory_map_initialize(mm, &req, &region));
    action_log[0] = '\0';
    CHECK_OK(rivet_memory_map_release(mm, slab)); /* deinitializes the rest */
    CHECK(strcmp(action_log, "DcDbDa") == 0);
    CHECK_FAILS(rivet_memory_map_release(mm, slab), RIVET_ERR_NOT_FOUND);
    destroy_map(mm);
}

static void test_in_place(void)
{
    rivet_memory_map *mm = new_map();
    uint64_t slab = 0, region = 0;
    CHECK_OK(rivet_memory_map_reserve(mm, 2 * PAGE, RIVET_PLACE_ANYWHERE, &slab));
    memcpy((void *)(uintptr_t)slab, "written by the controller", 25);
    rivet_segment seg = {slab, 2 * PAGE, NULL, 0, RIVET_PROT_READ, true};
    rivet_initialize_request req = {&seg, 1, NULL, 0};
    CHECK_OK(rivet_memory_map_initialize(mm, &req, &region));
    CHECK(memcmp((void *)(uintptr_t)slab, "written by the controller", 25) == 0);
    CHECK(perms_are(slab, "r--p"));
    destroy_map(mm);
}

static void test_failing_action_rolls_back(void)
{
    rivet_memory_map *mm = new_map();
    uint64_t slab = 0, region = 0;
    CHECK_OK(rivet_memory_map_reserve(mm, 4 * PAGE, RIVET_PLACE_ANYWHERE, &slab));
    rivet_segment seg = {slab, PAGE, "code", 4, RIVET_PROT_READ | RIVET_PROT_EXEC, false};
    rivet_action_pair actions[3] = {pair("1"), pair("2"), pair("!3")};
    rivet_initialize_request req = {&seg, 1, actions, 3};
    action_log[0] = '\0';
    rivet_error *e = rivet_memory_map_initialize(mm, &req, &region);
    CHECK(e && strstr(rivet_error_message(e), "refused"));
    rivet_error_free(e);
    CHECK(strcmp(action_log, "F1F2F!3D2D1") == 0);
    CHECK(perms_are(slab, "rw-p") && all_zero(slab, PAGE));
    req.action_count = 2; /* nothing stayed claimed: retry works */
    CHECK_OK(rivet_memory_map_initialize(mm, &req, &region));
    destroy_map(mm);
}

static void test_refused_requests(void)
{
    rivet_memory_map *mm = new_map();
    uint64_t slab = 0, other = 0, region = 0;
    CHECK_OK(rivet_memory_map_reserve(mm, 4 * PAGE, RIVET_PLACE_ANYWHERE, &slab));
    CHECK_OK(rivet_memory_map_reserve(mm, 4 * PAGE, RIVET_PLACE_ANYWHERE, &other));
    /* a size no mapping can have, however it is placed (fuzz_ci found this
     * "reserved" through a wrapped size, with a release that then failed) */
    uint64_t huge = 0;
    CHECK_FAILS(rivet_memory_map_reserve(mm, 0xffffffffffff4040ull, RIVET_PLACE_ANYWHERE,
                                         &huge), RIVET_ERR_NOMEM);
    CHECK_FAILS(rivet_memory_map_reserve(mm, 0xffffffffffff4040ull,
                                         RIVET_PLACE_NEAR_LIBRARIES, &huge), RIVET_ERR_RANGE);
    CHECK(huge == 0);
    rivet_segment seg = {slab, PAGE, "x", 1, RIVET_PROT_READ, false};
    rivet_initialize_request req = {&seg, 1, NULL, 0};
    CHECK_OK(rivet_memory_map_initialize(mm, &req, &region));
    seg.addr = slab; /* same page again */
    CHECK_FAILS(rivet_memory_map_initialize(mm, &req, &region), RIVET_ERR_STATE);
    seg.size = 10 * PAGE; /* runs past the slab */
    seg.addr = slab + PAGE;
    CHECK_FAILS(rivet_memory_map_initialize(mm, &req, &region), RIVET_ERR_NOT_FOUND);
    seg.size = PAGE;
    seg.addr = 0x1000; /* not in any slab */
    CHECK_FAILS(rivet_memory_map_initialize(mm, &req, &region), RIVET_ERR_NOT_FOUND);
    seg.addr = slab + PAGE;
    seg.prot = RIVET_PROT_WRITE | RIVET_PROT_EXEC;
    CHECK_FAILS(rivet_memory_map_initialize(mm, &req, &region), RIVET_ERR_UNSUPPORTED);
    seg.prot = RIVET_PROT_READ;
    seg.addr = slab + PAGE + 8; /* not page aligned */
    CHECK_FAILS(rivet_memory_map_initialize(mm, &req, &region), RIVET_ERR_MALFORMED);
    rivet_segment two[2] = {{slab + PAGE, PAGE, NULL, 0, RIVET_PROT_READ, false},
                            {other, PAGE, NULL, 0, RIVET_PROT_READ, false}};
    req.segments = two; /* split over two slabs */
    req.segment_count = 2;
    CHECK_FAILS(rivet_memory_map_initialize(mm, &req, &region), RIVET_ERR_NOT_FOUND);
    two[1].addr = slab + PAGE; /* two segments on one page */
    CHECK_FAILS(rivet_memory_map_initialize(mm, &req, &region), RIVET_ERR_MALFORMED);
    CHECK_FAILS(rivet_memory_map_reserve(mm, 0, RIVET_PLACE_ANYWHERE, &slab),
                RIVET_ERR_MALFORMED);
    destroy_map(mm);
}

static void test_multiple(void)
{
    rivet_memory_map *mm = new_map();
    uint64_t slabs[2], regions[3];
    CHECK_OK(rivet_memory_map_reserve(mm, 4 * PAGE, RIVET_PLACE_ANYWHERE, &slabs[0]));
    CHECK_OK(rivet_memory_map_reserve(mm, 4 * PAGE, RIVET_PLACE_ANYWHERE, &slabs[1]));
    const char *names[3] = {"x", "y", "z"};
    uint64_t at[3] = {slabs[0], slabs[0] + 2 * PAGE, slabs[1]};
    for (int i = 0; i < 3; i++) {
        rivet_segment seg = {at[i], PAGE, names[i], 1, RIVET_PROT_READ, false};
        rivet_action_pair p = pair(names[i]);
        rivet_initialize_request req = {&seg, 1, &p, 1};
        CHECK_OK(rivet_memory_map_initialize(mm, &req, &regions[i]));
    }
    action_log[0] = '\0';
    CHECK_OK(rivet_memory_map_deinitialize_multiple(mm, regions, 2));
    CHECK(strcmp(action_log, "DxDy") == 0);
    /* one bad name: the others still happen, the error names it */
    uint64_t mixed[2] = {0x1234000, regions[2]};
    rivet_error *e = rivet_memory_map_deinitialize_multiple(mm, mixed, 2);
    CHECK(e && strstr(rivet_error_message(e), "0x1234000"));
    rivet_error_free(e);
    CHECK(strcmp(action_log, "DxDyDz") == 0);
    CHECK_OK(rivet_memory_map_release_multiple(mm, slabs, 2));
    destroy_map(mm);
}

static void test_placement(void)
{
    rivet_memory_map *mm = new_map();
    uint64_t low = 0, near = 0, size = 64 * PAGE;
    CHECK_OK(rivet_memory_map_reserve(mm, size, RIVET_PLACE_LOW_2G, &low));
    CHECK(low != 0 && low + size <= 0x80000000ull);
    CHECK_OK(rivet_memory_map_reserve(mm, size, RIVET_PLACE_NEAR_LIBRARIES, &near));
    uint64_t target = (uint64_t)(uintptr_t)&stdout;
    uint64_t lo = near < target ? near : target;
    uint64_t hi = near + size > target ? near + size : target;
    CHECK(hi - lo < 0x80000000ull);
    destroy_map(mm);
}

/* A controller on the same machine writes a link straight into the
 * executor's reserved memory (rv_sys_write_process), then initializes it
 * in place. Here the child is the executor and this process its
 * controller, as with a spawned rivet-executor. Writing into memory that
 * is initialized read-only is refused with an error, and changes nothing. */
static void test_written_from_another_process(void)
{
    int to_parent[2], to_child[2];
    CHECK(pipe(to_parent) == 0 && pipe(to_child) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        rivet_memory_map *mm = new_map();
        uint64_t slab = 0, region = 0;
        char c;
        if (rivet_memory_map_reserve(mm, 4 * PAGE, RIVET_PLACE_NEAR_LIBRARIES, &slab) ||
            write(to_parent[1], &slab, sizeof slab) != sizeof slab ||
            read(to_child[0], &c, 1) != 1)
            _exit(10);
        rivet_segment segs[2] = {
            {slab, PAGE, NULL, 0, RIVET_PROT_READ | RIVET_PROT_EXEC, true},
            {slab + 2 * PAGE, 2 * PAGE, NULL, 0, RIVET_PROT_READ, true},
        };
        rivet_initialize_request req = {segs, 2, NULL, 0};
        if (rivet_memory_map_initialize(mm, &req, &region))
            _exit(11);
        int (*fn)(void) = (int (*)(void))(uintptr_t)slab;
        if (fn() != 42 ||
            memcmp((void *)(uintptr_t)(slab + 2 * PAGE), "written from afar", 17) ||
            !all_zero(slab + 2 * PAGE + 17, 2 * PAGE - 17) ||
            !perms_are(slab, "r-xp") || !perms_are(slab + 2 * PAGE, "r--p"))
            _exit(12);
        /* initialized: let the controller try to write it again */
        if (write(to_parent[1], "i", 1) != 1 || read(to_child[0], &c, 1) != 1)
            _exit(13);
        _exit(fn() == 42 ? 0 : 14);
    }
    uint64_t slab = 0;
    CHECK(read(to_parent[0], &slab, sizeof slab) == sizeof slab);
    static const char code[] = "\xb8\x2a\x00\x00\x00\xc3"; /* mov $42, %eax; ret */
    rv_sys_write_part parts[2] = {
        {code, slab, 6},
        {"written from afar", slab + 2 * PAGE, 17},
    };
    CHECK_OK(rv_sys_write_process((uint64_t)pid, parts, 2));
    char c = 0;
    CHECK(write(to_child[1], "w", 1) == 1);
    CHECK(read(to_parent[0], &c, 1) == 1 && c == 'i');
    /* read-only and executable now: refused, reported, nothing written */
    rv_sys_write_part again = {"\xcc\xcc\xcc\xcc\xcc\xcc", slab, 6};
    rivet_error *e = rv_sys_write_process((uint64_t)pid, &again, 1);
    CHECK(e != NULL);
    if (e)
        CHECK(strstr(rivet_error_message(e), "process") != NULL);
    rivet_error_free(e);
    CHECK(write(to_child[1], "x", 1) == 1);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "  (child status 0x%x)\n", status);
    close(to_parent[0]);
    close(to_parent[1]);
    close(to_child[0]);
    close(to_child[1]);
}

/* A forked child keeps the regions as they were at the fork: the
 * parent's later writes, and the parent unloading the region, do not
 * reach it (slabs are private memory). */
static void test_fork(void)
{
    rivet_memory_map *mm = new_map();
    uint64_t slab = 0, region = 0;
    CHECK_OK(rivet_memory_map_reserve(mm, 4 * PAGE, RIVET_PLACE_ANYWHERE, &slab));
    /* written in place, as an in-process controller does */
    memcpy((void *)(uintptr_t)slab, "\xb8\x2a\x00\x00\x00\xc3", 6);
    strcpy((char *)(uintptr_t)(slab + PAGE), "before the fork");
    rivet_segment segs[2] = {
        {slab, PAGE, NULL, 0, RIVET_PROT_READ | RIVET_PROT_EXEC, true},
        {slab + PAGE, PAGE, NULL, 0, RIVET_PROT_READ | RIVET_PROT_WRITE, true},
    };
    rivet_initialize_request req = {segs, 2, NULL, 0};
    CHECK_OK(rivet_memory_map_initialize(mm, &req, &region));
    int go[2];
    CHECK(pipe(go) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        if (read(go[0], &c, 1) != 1)
            _exit(10);
        int (*fn)(void) = (int (*)(void))(uintptr_t)slab;
        if (strcmp((const char *)(uintptr_t)(slab + PAGE), "before the fork") != 0)
            _exit(11);
        strcpy((char *)(uintptr_t)(slab + PAGE), "the child's");
        _exit(fn() == 42 ? 0 : 12);
    }
    strcpy((char *)(uintptr_t)(slab + PAGE), "after the fork");
    CHECK_OK(rivet_memory_map_deinitialize(mm, region));
    CHECK(all_zero(slab, 2 * PAGE));
    CHECK(write(go[1], "x", 1) == 1);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "  (child status 0x%x)\n", status);
    CHECK(all_zero(slab, 2 * PAGE)); /* the child's write stayed there */
    close(go[0]);
    close(go[1]);
    destroy_map(mm);
}

/* Whether the mapping holding addr has the "hg" flag (MADV_HUGEPAGE) in
 * /proc/self/smaps. */
static bool huge_page_advised(uint64_t addr)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    char line[512];
    bool inside = false, advised = false;
    while (f && fgets(line, sizeof(line), f)) {
        unsigned long from, to;
        if (sscanf(line, "%lx-%lx ", &from, &to) == 2 &&
            line[strspn(line, "0123456789abcdef")] == '-')
            inside = addr >= from && addr < to;
        else if (inside && strncmp(line, "VmFlags:", 8) == 0)
            advised = strstr(line, " hg") != NULL;
    }
    if (f)
        fclose(f);
    return advised;
}

/* Where the system has transparent huge pages, slabs past their first
 * 2 MiB are offered to them, and slabs start on a 2 MiB boundary so that
 * huge pages can back every whole 2 MiB of them. */
static void test_huge_page_advice(void)
{
    if (access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) != 0) {
        fprintf(stderr, "  (no transparent huge pages here: advice not checked)\n");
        return;
    }
    rivet_memory_map *mm = new_map();
    uint64_t slab = 0, anywhere = 0, lo = 0, hi = 0;
    /* Take the page where the near slab is first asked for, so that the
     * kernel places it somewhere of its own choosing. */
    void *taken = MAP_FAILED;
    if (rv_sys_library_span(&lo, &hi))
        taken = mmap((void *)(uintptr_t)((lo - (8u << 20)) & ~(uint64_t)((2u << 20) - 1)),
                     PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                     -1, 0);
    CHECK_OK(rivet_memory_map_reserve(mm, 8u << 20, RIVET_PLACE_NEAR_LIBRARIES, &slab));
    CHECK_OK(rivet_memory_map_reserve(mm, 4u << 20, RIVET_PLACE_ANYWHERE, &anywhere));
    /* on 2 MiB boundaries, wherever the kernel put them */
    CHECK(slab % (2u << 20) == 0 && anywhere % (2u << 20) == 0);
    /* the first 2 MiB in small pages, the rest offered to huge ones */
    CHECK(!huge_page_advised(slab) && huge_page_advised(slab + (2u << 20)) &&
          huge_page_advised(slab + (8u << 20) - PAGE));
    CHECK(!huge_page_advised(anywhere) && huge_page_advised(anywhere + (2u << 20)));
    if (taken != MAP_FAILED)
        munmap(taken, PAGE);
    destroy_map(mm);
}

static void test_shutdown_releases(void)
{
    rivet_session *s;
    CHECK_OK(rivet_session_create(&s));
    CHECK_OK(rivet_session_add_standard_services(s));
    rivet_memory_map *mm =
        rivet_memory_map_from_service(rivet_session_find_service(s, "memory_map"));
    CHECK(mm != NULL);
    uint64_t slab = 0, region = 0;
    CHECK_OK(rivet_memory_map_reserve(mm, 2 * PAGE, RIVET_PLACE_ANYWHERE, &slab));
    rivet_segment seg = {slab, PAGE, "s", 1, RIVET_PROT_READ, false};
    rivet_action_pair p = pair("s");
    rivet_initialize_request req = {&seg, 1, &p, 1};
    CHECK_OK(rivet_memory_map_initialize(mm, &req, &region));
    action_log[0] = '\0';
    rivet_session_destroy(s);
    CHECK(strcmp(action_log, "Ds") == 0);
}

int main(void)
{
    test_lifecycle();
    test_in_place();
    test_failing_action_rolls_back();
    test_refused_requests();
    test_multiple();
    test_placement();
    test_written_from_another_process();
    test_fork();
    test_huge_page_advice();
    test_shutdown_releases();
    return check_report("test_memory_map");
}
