/*
 * sys/posix/tls_host.c — thread-locals defined by the executor's own
 * libraries (libstdc++'s __once_callable, glibc's errno, a -l library's
 * __thread variables), as JIT'd code reaches them.
 *
 * General dynamic code needs the C runtime's {module id, offset} pair and
 * calls __tls_get_addr, which works for any module. Initial exec, local
 * exec and TLS descriptors (as rivet implements them) need the variable's
 * offset from the thread pointer, and that offset is only the same in
 * every thread if the module's TLS block is in *static* TLS: libraries
 * loaded at start-up, and dlopened ones the dynamic linker placed in the
 * static surplus. A library rivet dlopens (libstdc++ for C++ code) gets
 * dynamic TLS unless something needs it static — and the dynamic linker
 * decides that for good at the first dynamic access (glibc marks the
 * module FORCED_DYNAMIC_TLS_OFFSET in __tls_get_addr; dlsym of a TLS
 * symbol is such an access).
 *
 * So rivet asks the dynamic linker for static TLS the way a loaded object
 * with initial-exec code would: before anything else touches the variable
 * it dlopens a tiny generated shared object ("shim", in a memfd) whose one
 * dynamic relocation is R_X86_64_TPOFF64 against the name. Relocating it,
 * glibc allocates the defining module's block in the static surplus and
 * initializes it in every running thread (_dl_allocate_static_tls), or
 * fails ("cannot allocate memory in static TLS block") when the module is
 * already dynamic or the surplus is full. On success the shim's word holds
 * the variable's thread-pointer offset, computed by the dynamic linker
 * itself. The shim stays loaded (the block cannot move back anyway).
 *
 * The shim is only made for a name some loaded module's dynamic symbol
 * table defines as STT_TLS (see the guard). Then the name is looked up
 * (dlsym: the calling thread's instance), its
 * module found with dl_iterate_phdr (the TLS block containing the address:
 * module id, offset in the block) and static TLS confirmed either by the
 * shim's answer or, when no shim could be made, by a second thread seeing
 * the module's block at the same offset from its own thread pointer.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <threads.h>
#include <unistd.h>

#include "sys/sys.h"

static struct {
    once_flag once;
    mtx_t lock;
    /* names found in static TLS: asking again makes no new shim */
    struct cached { char *name; rv_sys_host_tls info; } *cache;
    size_t count, capacity;
} host = {.once = ONCE_FLAG_INIT};

static void host_init(void)
{
    mtx_init(&host.lock, mtx_plain);
}

static void set_text(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* ------------------------------------------------------------------- shim */

#if defined(__x86_64__)
/* One read-write PT_LOAD at 0 holding everything: header, program headers,
 * dynamic section, hash table, symbols, strings, the relocation and the
 * word it fills. */
typedef struct shim_image {
    Elf64_Ehdr eh;
    Elf64_Phdr ph[3];
    Elf64_Dyn dyn[11];
    uint32_t hash[4];      /* nbucket 1, nchain 2, bucket, chain[0..1] */
    uint32_t pad;
    Elf64_Sym sym[2];
    Elf64_Rela rela;
    uint64_t slot;
    char strtab[];         /* "\0" name "\0" */
} shim_image;

static unsigned char *shim_build(const char *name, size_t *size)
{
    size_t n = strlen(name);
    size_t total = sizeof(shim_image) + n + 2;
    shim_image *s = calloc(1, total);
    if (!s)
        return NULL;
#define AT(field) ((Elf64_Addr)offsetof(shim_image, field))
    memcpy(s->eh.e_ident, ELFMAG, SELFMAG);
    s->eh.e_ident[EI_CLASS] = ELFCLASS64;
    s->eh.e_ident[EI_DATA] = ELFDATA2LSB;
    s->eh.e_ident[EI_VERSION] = EV_CURRENT;
    s->eh.e_type = ET_DYN;
    s->eh.e_machine = EM_X86_64;
    s->eh.e_version = EV_CURRENT;
    s->eh.e_phoff = AT(ph);
    s->eh.e_ehsize = sizeof s->eh;
    s->eh.e_phentsize = sizeof s->ph[0];
    s->eh.e_phnum = 3;
    s->ph[0] = (Elf64_Phdr){.p_type = PT_LOAD, .p_flags = PF_R | PF_W,
                            .p_filesz = total, .p_memsz = total,
                            .p_align = 0x1000};
    s->ph[1] = (Elf64_Phdr){.p_type = PT_DYNAMIC, .p_flags = PF_R | PF_W,
                            .p_offset = AT(dyn), .p_vaddr = AT(dyn),
                            .p_paddr = AT(dyn), .p_filesz = sizeof s->dyn,
                            .p_memsz = sizeof s->dyn, .p_align = 8};
    /* without PT_GNU_STACK the dynamic linker would make stacks executable */
    s->ph[2] = (Elf64_Phdr){.p_type = PT_GNU_STACK, .p_flags = PF_R | PF_W,
                            .p_align = 16};
    const Elf64_Dyn dyn[] = {
        {DT_HASH, {AT(hash)}},     {DT_STRTAB, {AT(strtab)}},
        {DT_SYMTAB, {AT(sym)}},    {DT_STRSZ, {n + 2}},
        {DT_SYMENT, {sizeof(Elf64_Sym)}}, {DT_RELA, {AT(rela)}},
        {DT_RELASZ, {sizeof(Elf64_Rela)}}, {DT_RELAENT, {sizeof(Elf64_Rela)}},
        {DT_FLAGS, {DF_STATIC_TLS}}, {DT_BIND_NOW, {0}}, {DT_NULL, {0}},
    };
    memcpy(s->dyn, dyn, sizeof dyn);
    s->hash[0] = 1;        /* nbucket */
    s->hash[1] = 2;        /* nchain; bucket[0] = chain[0] = chain[1] = 0 */
    s->sym[1] = (Elf64_Sym){.st_name = 1,
                            .st_info = ELF64_ST_INFO(STB_GLOBAL, STT_TLS)};
    s->rela = (Elf64_Rela){.r_offset = AT(slot),
                           .r_info = ELF64_R_INFO(1, R_X86_64_TPOFF64)};
    memcpy(s->strtab + 1, name, n + 1);
#undef AT
    *size = total;
    return (unsigned char *)s;
}

/* 1: the shim loaded and *tpoff is the dynamic linker's answer; 0: the
 * dynamic linker refused (why says so); -1: no shim could be made. */
static int shim_promote(const char *name, int64_t *tpoff, char *why, size_t cap)
{
    size_t size = 0;
    unsigned char *image = shim_build(name, &size);
    if (!image)
        return -1;
    int fd = memfd_create("rivet-tls-shim", MFD_CLOEXEC);
    if (fd < 0) {
        free(image);
        return -1;
    }
    bool written = write(fd, image, size) == (ssize_t)size;
    free(image);
    if (!written) {
        close(fd);
        return -1;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    if (access(path, R_OK) != 0) {
        close(fd);
        return -1;
    }
    /* The dynamic linker knows objects by name: the descriptor stays open
     * while the shim is loaded (for ever) so no later shim gets the same
     * path and is mistaken for this one. */
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    const char *err = h ? NULL : dlerror();
    if (!h) {
        close(fd);
        set_text(why, cap, err ? err : "dlopen failed");
        return 0;
    }
    struct link_map *map = NULL;
    if (dlinfo(h, RTLD_DI_LINKMAP, &map) != 0 || !map)
        return -1; /* loaded all the same: keep it */
    const char *mine = (const char *)(map->l_addr + offsetof(shim_image, strtab) + 1);
    if (strcmp(mine, name) != 0)
        return -1; /* an older shim answered to the path after all */
    *tpoff = *(const int64_t *)(map->l_addr + offsetof(shim_image, slot));
    return 1; /* never closed: the static block stays */
}
#else
static int shim_promote(const char *name, int64_t *tpoff, char *why, size_t cap)
{
    (void)name, (void)tpoff, (void)why, (void)cap;
    return -1;
}
#endif

/* ------------------------------------------------------------------ guard */

/* The shim must only name a thread-local: a TPOFF64 relocation against a
 * symbol of a module without TLS makes glibc divide by the module's zero
 * TLS alignment. So first check, without dlsym (which would settle the TLS
 * as dynamic), that a loaded module's dynamic symbol table defines `name`
 * as STT_TLS. */
typedef struct tls_def_query {
    const char *name;
    uint32_t gnu_hash, sysv_hash;
    bool found;
} tls_def_query;

static uintptr_t dyn_ptr(const struct dl_phdr_info *info, ElfW(Addr) v)
{
    /* glibc relocates these entries in place; the vDSO's are raw offsets */
    return v < info->dlpi_addr ? info->dlpi_addr + v : v;
}

static const ElfW(Sym) *gnu_lookup(const uint32_t *t, const ElfW(Sym) *sym,
                                   const char *str, const tls_def_query *q)
{
    uint32_t nbuckets = t[0], symoffset = t[1], bloom_size = t[2];
    if (!nbuckets)
        return NULL;
    const uint32_t *buckets = (const uint32_t *)((const ElfW(Addr) *)(t + 4) + bloom_size);
    const uint32_t *chain = buckets + nbuckets;
    uint32_t i = buckets[q->gnu_hash % nbuckets];
    if (i < symoffset)
        return NULL;
    for (;; i++) {
        uint32_t h = chain[i - symoffset];
        if ((h | 1) == (q->gnu_hash | 1) && strcmp(str + sym[i].st_name, q->name) == 0)
            return &sym[i];
        if (h & 1)
            return NULL;
    }
}

static const ElfW(Sym) *sysv_lookup(const uint32_t *t, const ElfW(Sym) *sym,
                                    const char *str, const tls_def_query *q)
{
    uint32_t nbucket = t[0];
    const uint32_t *bucket = t + 2, *chain = bucket + nbucket;
    if (!nbucket)
        return NULL;
    for (uint32_t i = bucket[q->sysv_hash % nbucket]; i; i = chain[i])
        if (strcmp(str + sym[i].st_name, q->name) == 0)
            return &sym[i];
    return NULL;
}

static int tls_def_cb(struct dl_phdr_info *info, size_t size, void *ctx)
{
    (void)size;
    tls_def_query *q = ctx;
    const ElfW(Dyn) *dyn = NULL;
    bool has_tls = false;
    for (size_t i = 0; i < info->dlpi_phnum; i++) {
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
            dyn = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
        has_tls |= info->dlpi_phdr[i].p_type == PT_TLS;
    }
    if (!dyn || !has_tls)
        return 0;
    const ElfW(Sym) *symtab = NULL;
    const char *strtab = NULL;
    const uint32_t *gnu = NULL, *sysv = NULL;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        switch (dyn->d_tag) {
        case DT_SYMTAB: symtab = (const ElfW(Sym) *)dyn_ptr(info, dyn->d_un.d_ptr); break;
        case DT_STRTAB: strtab = (const char *)dyn_ptr(info, dyn->d_un.d_ptr); break;
        case DT_GNU_HASH: gnu = (const uint32_t *)dyn_ptr(info, dyn->d_un.d_ptr); break;
        case DT_HASH: sysv = (const uint32_t *)dyn_ptr(info, dyn->d_un.d_ptr); break;
        default: break;
        }
    }
    if (!symtab || !strtab)
        return 0;
    const ElfW(Sym) *s = gnu ? gnu_lookup(gnu, symtab, strtab, q)
                       : sysv ? sysv_lookup(sysv, symtab, strtab, q) : NULL;
    if (s && s->st_shndx != SHN_UNDEF && ELF64_ST_TYPE(s->st_info) == STT_TLS &&
        ELF64_ST_BIND(s->st_info) != STB_LOCAL) {
        q->found = true;
        return 1;
    }
    return 0;
}

static bool defines_tls(const char *name)
{
    tls_def_query q = {.name = name, .gnu_hash = 5381};
    for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
        q.gnu_hash = q.gnu_hash * 33 + *c;
        q.sysv_hash = (q.sysv_hash << 4) + *c;
        uint32_t g = q.sysv_hash & 0xf0000000u;
        if (g)
            q.sysv_hash ^= g >> 24;
        q.sysv_hash &= ~g;
    }
    dl_iterate_phdr(tls_def_cb, &q);
    return q.found;
}

/* ----------------------------------------------------------------- locate */

typedef struct locate {
    uintptr_t addr;          /* in: a thread's instance; or 0 with modid set */
    size_t modid;
    uintptr_t tls_data;      /* the module's block in the calling thread */
    const char *name;
    bool found;
} locate;

static int locate_cb(struct dl_phdr_info *info, size_t size, void *ctx)
{
    (void)size;
    locate *q = ctx;
    uintptr_t data = (uintptr_t)info->dlpi_tls_data;
    for (size_t i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_TLS)
            continue;
        bool hit = q->addr ? data && q->addr >= data && q->addr - data < ph->p_memsz
                           : info->dlpi_tls_modid == q->modid;
        if (!hit)
            continue;
        q->modid = info->dlpi_tls_modid;
        q->tls_data = data;
        q->name = info->dlpi_name;
        q->found = true;
        return 1;
    }
    return 0;
}

typedef struct probe {
    size_t modid;
    int64_t tpoff;
    bool present;
} probe;

static int probe_thread(void *p)
{
    probe *pr = p;
    locate q = {.modid = pr->modid};
    dl_iterate_phdr(locate_cb, &q);
    pr->present = q.found && q.tls_data;
    if (pr->present)
        pr->tpoff = (int64_t)(q.tls_data - (uintptr_t)rv_sys_thread_pointer());
    return 0;
}

/* Does a new thread see the module's block at the same tp offset? */
static bool same_in_new_thread(size_t modid, int64_t tpoff)
{
    probe pr = {.modid = modid};
    thrd_t t;
    if (thrd_create(&t, probe_thread, &pr) != thrd_success)
        return false;
    thrd_join(t, NULL);
    return pr.present && pr.tpoff == tpoff;
}

static void lookup_locked(const char *name, rv_sys_host_tls *out)
{
    memset(out, 0, sizeof *out);
    int64_t shim_tpoff = 0;
    char why[sizeof out->why] = "";
    if (!defines_tls(name))
        return; /* undefined, or not a thread-local: no shim, no dlsym */
    int promoted = shim_promote(name, &shim_tpoff, why, sizeof why);
    void *addr = dlsym(RTLD_DEFAULT, name);
    if (!addr)
        return;
    locate q = {.addr = (uintptr_t)addr};
    dl_iterate_phdr(locate_cb, &q);
    if (!q.found)
        return; /* not a thread-local */
    out->found = true;
    out->module = q.modid;
    out->offset = (uint64_t)((uintptr_t)addr - q.tls_data);
    out->tpoff = (int64_t)((uintptr_t)addr - (uintptr_t)rv_sys_thread_pointer());
    set_text(out->library, sizeof out->library,
             q.name && q.name[0] ? q.name : "the main program");
    int64_t block_tpoff = out->tpoff - (int64_t)out->offset;
    if (promoted == 1)
        out->is_static = shim_tpoff == out->tpoff;
    else
        out->is_static = same_in_new_thread(q.modid, block_tpoff);
    if (!out->is_static)
        set_text(out->why, sizeof out->why,
                 why[0] ? why : "its TLS block is allocated per thread on demand");
}

rivet_error *rv_sys_tls_host_symbol(const char *name, rv_sys_host_tls *out)
{
    call_once(&host.once, host_init);
    mtx_lock(&host.lock);
    for (size_t i = 0; i < host.count; i++)
        if (strcmp(host.cache[i].name, name) == 0) {
            *out = host.cache[i].info;
            mtx_unlock(&host.lock);
            return NULL;
        }
    lookup_locked(name, out);
    rivet_error *e = NULL;
    if (out->found && out->is_static) {
        if (host.count == host.capacity) {
            size_t cap = host.capacity ? 2 * host.capacity : 8;
            void *p = realloc(host.cache, cap * sizeof *host.cache);
            if (p) {
                host.cache = p;
                host.capacity = cap;
            }
        }
        char *copy = host.count < host.capacity ? strdup(name) : NULL;
        if (copy)
            host.cache[host.count++] = (struct cached){copy, *out};
        else
            e = rivet_error_create(RIVET_ERR_NOMEM, "tls: out of memory");
    }
    mtx_unlock(&host.lock);
    return e;
}
