/*
 * object/elf.c — the ELF64 relocatable-object reader.
 *
 * Turns one ET_REL image into blocks, symbols and edges of a link graph.
 * Every offset, size, index and alignment is checked before it is used, so
 * a malformed object ends in an error that names the file, the section and
 * the offending value, never in a wild read. The image may sit at any
 * alignment (archive members are only 2-byte aligned), so headers, symbols
 * and relocations are read with memcpy, never through cast pointers.
 *
 * Relocation numbers are mapped to edge kinds by the architecture table
 * (arch/<arch>.c); this file knows the ELF container only.
 */
#include <elf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link/link.h"
#include "link/runtime.h"
#include "support/namemap.h"

struct elf_reader {
    rivet_link *link;
    rv_arena *arena;       /* where this object's nodes go */
    rv_object *obj;
    const rv_arch *arch;
    Elf64_Ehdr eh;
    Elf64_Shdr *sh;        /* copies of the section headers */
    uint32_t shnum;
    const char *shstr;
    uint64_t shstr_size;
    uint32_t symtab_index; /* 0 when the object has no symbol table */
    uint32_t sym_count;
    const uint8_t *syms;   /* raw Elf64_Sym array */
    const char *strtab;
    uint64_t strtab_size;
    const uint8_t *shndx;  /* SHT_SYMTAB_SHNDX contents, or NULL */
    uint8_t *discarded;    /* per section: member of a dropped COMDAT group */
};

static rivet_error *malformed(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static rivet_error *malformed(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    rivet_error *e = rivet_error_createv(RIVET_ERR_MALFORMED, fmt, ap);
    va_end(ap);
    return e;
}

static const char *section_name(const elf_reader *r, uint32_t i) {
    if (!r->shstr || i >= r->shnum || r->sh[i].sh_name >= r->shstr_size)
        return "<unnamed>";
    return r->shstr + r->sh[i].sh_name;
}

static rivet_error *in_section(const elf_reader *r, uint32_t i, rivet_error *e) {
    return rivet_error_wrap(e, "section %s (#%u)", section_name(r, i), i);
}

static bool is_pow2_or_zero(uint64_t v) { return (v & (v - 1)) == 0; }

static bool range_ok(uint64_t off, uint64_t size, uint64_t limit) {
    return off <= limit && size <= limit - off;
}

/* ---------------------------------------------------------------- header */

static rivet_error *check_header(elf_reader *r) {
    const rv_object *o = r->obj;
    if (o->size < EI_NIDENT || memcmp(o->data, ELFMAG, SELFMAG) != 0)
        return malformed("not an ELF object (bad magic)");
    if (o->data[EI_CLASS] != ELFCLASS64)
        return rivet_error_create(RIVET_ERR_UNSUPPORTED,
            "unsupported ELF class %u: only 64-bit objects are supported",
            o->data[EI_CLASS]);
    if (o->data[EI_DATA] != ELFDATA2LSB)
        return rivet_error_create(RIVET_ERR_UNSUPPORTED,
                                  "unsupported ELF byte order (big-endian)");
    if (o->size < sizeof(Elf64_Ehdr))
        return malformed("truncated ELF header (%zu bytes)", o->size);
    memcpy(&r->eh, o->data, sizeof r->eh);
    if (r->eh.e_type != ET_REL)
        return rivet_error_create(RIVET_ERR_UNSUPPORTED,
            "not a relocatable object (e_type %u); rivet links .o files",
            r->eh.e_type);
    r->arch = rv_arch_for_elf_machine(r->eh.e_machine);
    if (!r->arch)
        return rivet_error_create(RIVET_ERR_UNSUPPORTED,
            "unsupported machine (e_machine %u); supported: x86_64",
            r->eh.e_machine);
    if (r->link->arch && r->link->arch != r->arch)
        return rivet_error_create(RIVET_ERR_UNSUPPORTED,
            "machine %s does not match the link's %s", r->arch->name,
            r->link->arch->name);
    r->link->arch = r->arch;
    if (r->eh.e_shentsize != sizeof(Elf64_Shdr))
        return malformed("bad e_shentsize %u", r->eh.e_shentsize);
    return NULL;
}

/* --------------------------------------------------------------- sections */

static rivet_error *read_section_headers(elf_reader *r) {
    const rv_object *o = r->obj;
    uint64_t off = r->eh.e_shoff;
    Elf64_Shdr first;
    if (!range_ok(off, sizeof first, o->size))
        return malformed("section header table at 0x%llx is past the end of "
                         "the file (%zu bytes)", (unsigned long long)off, o->size);
    memcpy(&first, o->data + off, sizeof first);
    uint64_t n = r->eh.e_shnum ? r->eh.e_shnum : first.sh_size;
    if (n == 0 || n > (o->size - off) / sizeof(Elf64_Shdr))
        return malformed("section header table (%llu entries at 0x%llx) is "
                         "past the end of the file", (unsigned long long)n,
                         (unsigned long long)off);
    r->shnum = (uint32_t)n;
    r->sh = rv_arena_alloc(r->arena, n * sizeof(Elf64_Shdr));
    r->discarded = rv_arena_calloc(r->arena, n, 1);
    if (!r->sh || !r->discarded)
        return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    memcpy(r->sh, o->data + off, n * sizeof(Elf64_Shdr));
    uint32_t strndx = r->eh.e_shstrndx == SHN_XINDEX ? first.sh_link
                                                     : r->eh.e_shstrndx;
    if (strndx == SHN_UNDEF || strndx >= r->shnum)
        return malformed("section name table index %u out of range "
                         "(%u sections)", strndx, r->shnum);
    for (uint32_t i = 1; i < r->shnum; i++) {
        const Elf64_Shdr *s = &r->sh[i];
        if (s->sh_type != SHT_NOBITS && !range_ok(s->sh_offset, s->sh_size, o->size))
            return malformed("section #%u: contents [0x%llx, +0x%llx) are past "
                             "the end of the file (%zu bytes)", i,
                             (unsigned long long)s->sh_offset,
                             (unsigned long long)s->sh_size, o->size);
        if (!is_pow2_or_zero(s->sh_addralign))
            return malformed("section #%u: alignment %llu is not a power of two",
                             i, (unsigned long long)s->sh_addralign);
    }
    const Elf64_Shdr *ss = &r->sh[strndx];
    if (ss->sh_type != SHT_STRTAB || ss->sh_size == 0 ||
        o->data[ss->sh_offset + ss->sh_size - 1] != 0)
        return malformed("section name table #%u is not a NUL-terminated "
                         "string table", strndx);
    r->shstr = (const char *)o->data + ss->sh_offset;
    r->shstr_size = ss->sh_size;
    for (uint32_t i = 1; i < r->shnum; i++)
        if (r->sh[i].sh_name >= r->shstr_size)
            return malformed("section #%u: name offset 0x%x out of range", i,
                             r->sh[i].sh_name);
    return NULL;
}

typedef struct file_range { uint64_t start, end; uint32_t index; } file_range;

static int compare_ranges(const void *a, const void *b) {
    const file_range *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Two sections sharing file bytes is never produced by an assembler and
 * would let one section's fixups corrupt another's content. */
static const char *range_name(const elf_reader *r, uint32_t index, char *buf,
                              size_t size) {
    if (index == UINT32_MAX)
        return "the ELF header";
    if (index == UINT32_MAX - 1)
        return "the section header table";
    snprintf(buf, size, "section %s (#%u)", section_name(r, index), index);
    return buf;
}

/* Objects have a dozen or two sections: those are sorted in place on the
 * stack; only unusually many go through malloc and qsort. */
enum { FEW_RANGES = 64 };

static void sort_ranges(file_range *v, uint32_t n) {
    if (n > FEW_RANGES) {
        qsort(v, n, sizeof *v, compare_ranges);
        return;
    }
    for (uint32_t i = 1; i < n; i++) { /* insertion sort */
        file_range x = v[i];
        uint32_t j = i;
        for (; j > 0 && v[j - 1].start > x.start; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

static rivet_error *check_overlaps(elf_reader *r) {
    file_range few[FEW_RANGES];
    file_range *v = r->shnum + 2 <= FEW_RANGES ? few
                  : malloc((r->shnum + 2) * sizeof *v);
    if (!v)
        return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    uint32_t n = 0;
    v[n++] = (file_range){0, sizeof(Elf64_Ehdr), UINT32_MAX};
    v[n++] = (file_range){r->eh.e_shoff,
                          r->eh.e_shoff + (uint64_t)r->shnum * sizeof(Elf64_Shdr),
                          UINT32_MAX - 1};
    for (uint32_t i = 1; i < r->shnum; i++)
        if (r->sh[i].sh_type != SHT_NOBITS && r->sh[i].sh_size)
            v[n++] = (file_range){r->sh[i].sh_offset,
                                  r->sh[i].sh_offset + r->sh[i].sh_size, i};
    sort_ranges(v, n);
    rivet_error *e = NULL;
    for (uint32_t i = 1; i < n && !e; i++)
        if (v[i].start < v[i - 1].end) {
            char a[320], b[320];
            e = malformed("%s and %s overlap in the file",
                          range_name(r, v[i - 1].index, a, sizeof a),
                          range_name(r, v[i].index, b, sizeof b));
        }
    if (v != few)
        free(v);
    return e;
}

static rivet_error *find_symbol_table(elf_reader *r) {
    for (uint32_t i = 1; i < r->shnum; i++) {
        const Elf64_Shdr *s = &r->sh[i];
        if (s->sh_type == SHT_SYMTAB_SHNDX)
            r->shndx = r->obj->data + s->sh_offset;
        if (s->sh_type != SHT_SYMTAB)
            continue;
        if (r->symtab_index)
            return malformed("more than one symbol table");
        if (s->sh_entsize != sizeof(Elf64_Sym) || s->sh_size % sizeof(Elf64_Sym))
            return in_section(r, i, malformed("bad symbol entry size %llu",
                                              (unsigned long long)s->sh_entsize));
        if (s->sh_link == 0 || s->sh_link >= r->shnum)
            return in_section(r, i, malformed("string table index %u out of range",
                                              s->sh_link));
        const Elf64_Shdr *st = &r->sh[s->sh_link];
        if (st->sh_type != SHT_STRTAB || st->sh_size == 0 ||
            r->obj->data[st->sh_offset + st->sh_size - 1] != 0)
            return in_section(r, i, malformed("linked section #%u is not a "
                                              "NUL-terminated string table",
                                              s->sh_link));
        r->symtab_index = i;
        r->syms = r->obj->data + s->sh_offset;
        r->sym_count = (uint32_t)(s->sh_size / sizeof(Elf64_Sym));
        r->strtab = (const char *)r->obj->data + st->sh_offset;
        r->strtab_size = st->sh_size;
        if (s->sh_info > r->sym_count)
            return in_section(r, i, malformed("first global index %u out of range",
                                              s->sh_info));
    }
    if (r->shndx) {
        for (uint32_t i = 1; i < r->shnum; i++)
            if (r->sh[i].sh_type == SHT_SYMTAB_SHNDX &&
                r->sh[i].sh_size / 4 < r->sym_count)
                return in_section(r, i, malformed("extended index table too small"));
    }
    return NULL;
}

static Elf64_Sym read_sym(const elf_reader *r, uint32_t i) {
    Elf64_Sym s;
    memcpy(&s, r->syms + (size_t)i * sizeof s, sizeof s);
    return s;
}

static rivet_error *symbol_section(const elf_reader *r, uint32_t i,
                                   const Elf64_Sym *s, uint32_t *shndx) {
    uint32_t x = s->st_shndx;
    if (x == SHN_XINDEX) {
        if (!r->shndx)
            return malformed("symbol #%u uses SHN_XINDEX without an extended "
                             "index table", i);
        memcpy(&x, r->shndx + (size_t)i * 4, 4);
    } else if (x >= SHN_LORESERVE) {
        *shndx = x;
        return NULL;
    }
    if (x >= r->shnum)
        return malformed("symbol #%u: section index %u out of range (%u "
                         "sections)", i, x, r->shnum);
    *shndx = x;
    return NULL;
}

/* ------------------------------------------------------------ COMDAT groups */

static rivet_error *read_groups(elf_reader *r) {
    for (uint32_t i = 1; i < r->shnum; i++) {
        const Elf64_Shdr *g = &r->sh[i];
        if (g->sh_type != SHT_GROUP)
            continue;
        if (g->sh_link != r->symtab_index || g->sh_info >= r->sym_count ||
            g->sh_size < 4 || g->sh_size % 4)
            return in_section(r, i, malformed("malformed section group"));
        const uint8_t *p = r->obj->data + g->sh_offset;
        uint32_t flags;
        memcpy(&flags, p, 4);
        if (!(flags & GRP_COMDAT))
            continue;
        Elf64_Sym sig = read_sym(r, g->sh_info);
        if (sig.st_name >= r->strtab_size)
            return in_section(r, i, malformed("group signature name out of range"));
        bool oom = false;
        if (rv_link_claim_group(r->link, r->strtab + sig.st_name, &oom))
            continue;
        if (oom)
            return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
        for (uint64_t k = 4; k < g->sh_size; k += 4) {
            uint32_t m;
            memcpy(&m, p + k, 4);
            if (m == 0 || m >= r->shnum)
                return in_section(r, i, malformed("group member %u out of range", m));
            r->discarded[m] = 1;
        }
    }
    return NULL;
}

/* ---------------------------------------------------------------- blocks */

static uint16_t name_priority(const char *name, const char *prefix) {
    size_t n = strlen(prefix);
    if (strncmp(name, prefix, n) != 0 || name[n] != '.')
        return 65535;
    unsigned long v = strtoul(name + n + 1, NULL, 10);
    return v > 65535 ? 65535 : (uint16_t)v;
}

static bool has_prefix(const char *name, const char *prefix) {
    size_t n = strlen(prefix);
    return strncmp(name, prefix, n) == 0 && (name[n] == 0 || name[n] == '.');
}

static void classify_block(rv_block *b, uint32_t type) {
    const char *n = b->name;
    b->priority = 65535;
    if (type == SHT_INIT_ARRAY || has_prefix(n, ".init_array")) {
        b->role = RV_ROLE_INIT_ARRAY;
        b->priority = name_priority(n, ".init_array");
    } else if (type == SHT_FINI_ARRAY || has_prefix(n, ".fini_array")) {
        b->role = RV_ROLE_FINI_ARRAY;
        b->priority = name_priority(n, ".fini_array");
    } else if (type == SHT_PREINIT_ARRAY || has_prefix(n, ".preinit_array")) {
        b->role = RV_ROLE_PREINIT_ARRAY;
    } else if (has_prefix(n, ".ctors")) {
        b->role = RV_ROLE_CTORS;
        b->priority = name_priority(n, ".ctors");
    } else if (has_prefix(n, ".dtors")) {
        b->role = RV_ROLE_DTORS;
        b->priority = name_priority(n, ".dtors");
    } else if (strcmp(n, ".eh_frame") == 0) {
        b->role = RV_ROLE_EH_FRAME;
    }
}

static rivet_error *make_block(elf_reader *r, uint32_t i) {
    const Elf64_Shdr *s = &r->sh[i];
    uint64_t f = s->sh_flags;
    if (s->sh_size > UINT32_MAX) /* edges hold 32-bit offsets (graph.h) */
        return in_section(r, i, rivet_error_create(RIVET_ERR_UNSUPPORTED,
            "section of %llu bytes: sections of 4 GiB and more are not "
            "supported", (unsigned long long)s->sh_size));
    if ((f & SHF_TLS) && (f & SHF_EXECINSTR))
        return in_section(r, i, malformed("thread-local section is executable"));
    if ((f & SHF_WRITE) && (f & SHF_EXECINSTR))
        return in_section(r, i, rivet_error_create(RIVET_ERR_UNSUPPORTED,
            "section is both writable and executable; rivet never maps "
            "memory that is both"));
    rv_block *b = rv_arena_calloc(r->arena, 1, sizeof *b);
    if (!b)
        return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    b->object = r->obj;
    b->name = r->shstr + s->sh_name;
    b->content = s->sh_type == SHT_NOBITS ? NULL : r->obj->data + s->sh_offset;
    b->size = s->sh_size;
    b->align = s->sh_addralign ? s->sh_addralign : 1;
    b->section_index = i;
    b->prot = RIVET_PROT_READ | (f & SHF_WRITE ? RIVET_PROT_WRITE : 0) |
              (f & SHF_EXECINSTR ? RIVET_PROT_EXEC : 0);
    b->live = true;
    classify_block(b, s->sh_type);
    if (f & SHF_TLS) {
        /* The content is a template: per-thread copies are writable, the
         * image itself is only read (link/tls.c). */
        b->prot = RIVET_PROT_READ;
        b->role = s->sh_type == SHT_NOBITS ? RV_ROLE_TLS_BSS : RV_ROLE_TLS_DATA;
    }
    r->obj->blocks[i] = b;
    return NULL;
}

static rivet_error *create_blocks(elf_reader *r) {
    r->obj->section_count = r->shnum;
    r->obj->blocks = rv_arena_calloc(r->arena, r->shnum, sizeof(rv_block *));
    if (!r->obj->blocks)
        return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    for (uint32_t i = 1; i < r->shnum; i++) {
        const Elf64_Shdr *s = &r->sh[i];
        if (!(s->sh_flags & SHF_ALLOC) || r->discarded[i] || s->sh_type == SHT_NOTE)
            continue;
        if (s->sh_type == SHT_GROUP || s->sh_type == SHT_RELA || s->sh_type == SHT_REL)
            continue;
        rivet_error *e = make_block(r, i);
        if (e)
            return e;
    }
    return NULL;
}

/* --------------------------------------------------------------- symbols */

static uint32_t symbol_flags(const Elf64_Sym *s) {
    uint32_t f = 0;
    switch (ELF64_ST_BIND(s->st_info)) {
    case STB_LOCAL: f |= RV_SYM_LOCAL; break;
    case STB_WEAK: f |= RV_SYM_WEAK; break;
    default: break; /* STB_GLOBAL, STB_GNU_UNIQUE */
    }
    switch (ELF64_ST_TYPE(s->st_info)) {
    case STT_FUNC: f |= RV_SYM_FUNCTION; break;
    case STT_TLS: f |= RV_SYM_TLS; break;
    case STT_GNU_IFUNC: f |= RV_SYM_IFUNC | RV_SYM_FUNCTION; break;
    case STT_SECTION: f |= RV_SYM_SECTION; break;
    default: break;
    }
    uint8_t vis = ELF64_ST_VISIBILITY(s->st_other);
    if (vis == STV_HIDDEN || vis == STV_INTERNAL)
        f |= RV_SYM_HIDDEN;
    return f;
}

static rivet_error *define_symbol(elf_reader *r, uint32_t i, const Elf64_Sym *es,
                                  rv_symbol *sym) {
    uint32_t shndx = 0;
    rivet_error *e = symbol_section(r, i, es, &shndx);
    if (e)
        return e;
    if (shndx == SHN_UNDEF)
        return NULL;
    if ((sym->flags & (RV_SYM_TLS | RV_SYM_IFUNC)) && shndx >= SHN_LORESERVE)
        return rivet_error_create(RIVET_ERR_UNSUPPORTED,
            "symbol #%u '%s': %s symbol with special section index 0x%x", i,
            sym->name, (sym->flags & RV_SYM_TLS) ? "thread-local"
                                                 : "STT_GNU_IFUNC", shndx);
    if (shndx == SHN_ABS) {
        sym->flags |= RV_SYM_DEFINED | RV_SYM_ABSOLUTE;
        sym->value = es->st_value;
        return NULL;
    }
    if (shndx == SHN_COMMON) {
        if (sym->flags & RV_SYM_LOCAL)
            return malformed("symbol #%u '%s': local common symbol", i, sym->name);
        if (!is_pow2_or_zero(es->st_value))
            return malformed("symbol #%u '%s': common alignment %llu is not a "
                             "power of two", i, sym->name,
                             (unsigned long long)es->st_value);
        sym->flags |= RV_SYM_COMMON;
        sym->value = es->st_value ? es->st_value : 1;
        return NULL;
    }
    if (shndx >= SHN_LORESERVE)
        return malformed("symbol #%u '%s': unsupported section index 0x%x", i,
                         sym->name, shndx);
    if (r->discarded[shndx]) {
        if (sym->flags & RV_SYM_LOCAL) {
            sym->flags |= RV_SYM_DISCARDED | RV_SYM_DEFINED;
            r->obj->has_discarded = true;
        }
        return NULL; /* globals: the kept copy of the group defines them */
    }
    if (es->st_value > r->sh[shndx].sh_size)
        return malformed("symbol #%u '%s': value 0x%llx is past the end of "
                         "section %s (size 0x%llx)", i, sym->name,
                         (unsigned long long)es->st_value, section_name(r, shndx),
                         (unsigned long long)r->sh[shndx].sh_size);
    bool tls_section = (r->sh[shndx].sh_flags & SHF_TLS) != 0;
    if ((sym->flags & RV_SYM_TLS) && !tls_section)
        return malformed("symbol #%u '%s': thread-local symbol in section %s, "
                         "which is not thread-local", i, sym->name,
                         section_name(r, shndx));
    if (tls_section && (sym->flags & RV_SYM_FUNCTION))
        return malformed("symbol #%u '%s': function in thread-local section %s",
                         i, sym->name, section_name(r, shndx));
    if (tls_section)
        sym->flags |= RV_SYM_TLS; /* section and untyped symbols too */
    sym->block = r->obj->blocks[shndx]; /* NULL for non-allocated sections */
    sym->value = es->st_value;
    sym->flags |= RV_SYM_DEFINED;
    return NULL;
}

/* An undefined global: does it name the C++ runtime's ABI (libstdc++ is
 * then opened, link/resolve.c) or one of rivet's runtime names? */
static void note_reference(rv_object *o, const char *name) {
    if (name[0] == '_' && (name[1] == 'Z' || strncmp(name, "__cxa_", 6) == 0 ||
                           strcmp(name, "__gxx_personality_v0") == 0))
        o->uses_cxx_abi = true;
    o->runtime_refs |= rv_runtime_name_bit(name);
}

static void note_global(rv_object *o, const rv_symbol *sym) {
    if (sym->flags & (RV_SYM_DEFINED | RV_SYM_COMMON))
        o->global_definitions++;
    if (!(sym->flags & RV_SYM_DEFINED) && sym->name[0])
        note_reference(o, sym->name);
}

/* The global definitions, for resolution to enter them into the link's
 * table without a walk through every symbol (link/resolve.c). */
static rivet_error *list_definitions(elf_reader *r, uint32_t first_global) {
    rv_object *o = r->obj;
    o->definitions = rv_arena_alloc(r->arena, (o->global_definitions + 1) *
                                                  sizeof *o->definitions);
    if (!o->definitions)
        return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    uint32_t n = 0;
    for (uint32_t i = first_global ? first_global : 1; i < r->sym_count; i++) {
        rv_symbol *s = &o->symbols[i];
        if (!(s->flags & RV_SYM_LOCAL) && (s->flags & (RV_SYM_DEFINED | RV_SYM_COMMON)))
            o->definitions[n++] = s;
    }
    return NULL;
}

static rivet_error *read_symbols(elf_reader *r) {
    rv_object *o = r->obj;
    uint32_t first_global = r->symtab_index ? r->sh[r->symtab_index].sh_info : 0;
    o->symbol_count = r->sym_count;
    /* not calloc: every field is written below, in the same pass */
    o->symbols = rv_arena_alloc(r->arena, (r->sym_count ? r->sym_count : 1) *
                                                     sizeof(rv_symbol));
    if (!o->symbols)
        return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    o->symbols[0] = (rv_symbol){.name = "", .flags = RV_SYM_LOCAL, .object = o};
    for (uint32_t i = 1; i < r->sym_count; i++) {
        Elf64_Sym es = read_sym(r, i);
        rv_symbol *sym = &o->symbols[i];
        if (es.st_name >= r->strtab_size)
            return malformed("symbol #%u: name offset 0x%x out of range", i,
                             es.st_name);
        *sym = (rv_symbol){.name = r->strtab + es.st_name, .flags = symbol_flags(&es),
                           .object = o, .size = es.st_size};
        if ((sym->flags & RV_SYM_SECTION) && es.st_shndx < r->shnum)
            sym->name = section_name(r, es.st_shndx);
        rivet_error *e = define_symbol(r, i, &es, sym);
        if (e)
            return e;
        if (!(sym->flags & RV_SYM_LOCAL)) {
            sym->hash = rv_name_hash(sym->name);
            if (i >= first_global)
                note_global(o, sym);
        }
        if (sym->flags & RV_SYM_TLS)
            o->has_tls = true;
        if (sym->flags & RV_SYM_IFUNC)
            o->has_ifunc = true;
    }
    return list_definitions(r, first_global);
}

/* ----------------------------------------------------------- relocations */

static rivet_error *reloc_error(elf_reader *r, uint32_t sec, uint64_t k,
                                const Elf64_Rela *rel, rivet_error *e) {
    return in_section(r, sec, rivet_error_wrap(e, "relocation #%llu (%s) at "
        "offset 0x%llx", (unsigned long long)k,
        r->arch->reloc_name((uint32_t)ELF64_R_TYPE(rel->r_info)),
        (unsigned long long)rel->r_offset));
}

/* An object uses a handful of relocation numbers thousands of times: the
 * architecture is asked about each number once per object. */
typedef struct reloc_class {
    rv_reloc_info info;
    unsigned needs;   /* of info.kind, unless dropped */
    bool known;
} reloc_class;

enum { CACHED_RELOC_TYPES = 64 };

static rivet_error *classify(elf_reader *r, reloc_class *cache, uint32_t type,
                             reloc_class *out) {
    if (type < CACHED_RELOC_TYPES && cache[type].known) {
        *out = cache[type];
        return NULL;
    }
    rivet_error *e = r->arch->classify_reloc(type, &out->info);
    if (e)
        return e;
    out->needs = out->info.kind == RV_EDGE_DROP ? 0 : r->arch->edge_needs(out->info.kind);
    out->known = true;
    if (type < CACHED_RELOC_TYPES)
        cache[type] = *out;
    return NULL;
}

static rivet_error *read_one_reloc(elf_reader *r, reloc_class *cache,
                                   uint32_t sec, rv_block *b, uint64_t k,
                                   const Elf64_Rela *rel) {
    uint32_t type = (uint32_t)ELF64_R_TYPE(rel->r_info);
    uint64_t symi = ELF64_R_SYM(rel->r_info);
    reloc_class c;
    rivet_error *e = classify(r, cache, type, &c);
    if (e)
        return reloc_error(r, sec, k, rel, e);
    rv_reloc_info info = c.info;
    if (symi >= r->sym_count || (symi == 0 && info.kind != RV_EDGE_DROP))
        return reloc_error(r, sec, k, rel, malformed("symbol index %llu out of "
            "range (%u symbols)", (unsigned long long)symi, r->sym_count));
    if (info.kind == RV_EDGE_DROP)
        return NULL;
    if (!range_ok(rel->r_offset, info.width, b->size))
        return reloc_error(r, sec, k, rel, malformed("offset is past the end "
            "of section %s (size 0x%llx)", b->name, (unsigned long long)b->size));
    rv_symbol *target = &r->obj->symbols[symi];
    rv_edge *edge = &b->edges[b->edge_count++];
    *edge = (rv_edge){.offset = rel->r_offset, .addend = rel->r_addend,
                      .target = target, .kind = info.kind, .reloc = type};
    unsigned needs = c.needs;
    /* what the edge asks of the passes, noted on the symbol it names: the
     * passes then visit symbols, not edges (link/passes.c) */
    target->flags |= RV_SYM_REFERENCED |
                     (needs & RV_NEEDS_GOT_ENTRY ? RV_SYM_REF_GOT : 0) |
                     (needs & RV_NEEDS_STUB ? RV_SYM_REF_STUB : 0);
    if (needs & (RV_NEEDS_GOT_ENTRY | RV_NEEDS_GOT_BASE))
        r->obj->needs_got_base = true;
    if (needs & RV_NEEDS_GOT_ENTRY)
        r->obj->has_got_refs = true;
    if (needs & RV_NEEDS_LOW_MEMORY)
        r->obj->needs_low_memory = true;
    if (needs & RV_NEEDS_TLS)
        r->obj->has_tls = true;
    return NULL;
}

static rivet_error *read_rela_section(elf_reader *r, reloc_class *cache,
                                      uint32_t sec) {
    const Elf64_Shdr *s = &r->sh[sec];
    if (s->sh_info == 0 || s->sh_info >= r->shnum)
        return in_section(r, sec, malformed("target section index %u out of range",
                                            s->sh_info));
    rv_block *b = r->obj->blocks[s->sh_info];
    if (!b)
        return NULL; /* relocations of debug info or a discarded group */
    if (s->sh_link != r->symtab_index)
        return in_section(r, sec, malformed("linked symbol table #%u is not the "
                                            "object's symbol table", s->sh_link));
    if (s->sh_entsize != sizeof(Elf64_Rela) || s->sh_size % sizeof(Elf64_Rela))
        return in_section(r, sec, malformed("bad relocation entry size %llu",
                                            (unsigned long long)s->sh_entsize));
    uint64_t n = s->sh_size / sizeof(Elf64_Rela);
    if (b->edges)
        return in_section(r, sec, malformed("second relocation section for %s",
                                            b->name));
    b->edges = rv_arena_alloc(r->arena, (n ? n : 1) * sizeof(rv_edge));
    if (!b->edges)
        return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    const uint8_t *p = r->obj->data + s->sh_offset;
    for (uint64_t k = 0; k < n; k++) {
        Elf64_Rela rel;
        memcpy(&rel, p + k * sizeof rel, sizeof rel);
        rivet_error *e = read_one_reloc(r, cache, sec, b, k, &rel);
        if (e)
            return e;
    }
    return NULL;
}

static rivet_error *read_relocations(elf_reader *r) {
    reloc_class cache[CACHED_RELOC_TYPES];
    memset(cache, 0, sizeof cache);
    for (uint32_t i = 1; i < r->shnum; i++) {
        rivet_error *e = NULL;
        if (r->sh[i].sh_type == SHT_RELA)
            e = read_rela_section(r, cache, i);
        else if (r->sh[i].sh_type == SHT_REL && r->sh[i].sh_info < r->shnum &&
                 r->obj->blocks[r->sh[i].sh_info])
            e = in_section(r, i, rivet_error_create(RIVET_ERR_UNSUPPORTED,
                "SHT_REL relocations are not used on this architecture"));
        if (e)
            return e;
    }
    return NULL;
}

/* Phase one, in input order: everything that decides between objects
 * (the machine, COMDAT claims). Cheap: headers only. */
rivet_error *rv_elf_read_headers(rivet_link *l, rv_object *obj, elf_reader **out) {
    elf_reader *r = rv_arena_calloc(&l->arena, 1, sizeof *r);
    if (!r)
        return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    *r = (elf_reader){.link = l, .arena = &l->arena, .obj = obj};
    rivet_error *e = check_header(r);
    if (!e) e = read_section_headers(r);
    if (!e) e = check_overlaps(r);
    if (!e) e = find_symbol_table(r);
    if (!e) e = read_groups(r);
    *out = r;
    return rivet_error_wrap(e, "%s", obj->name);
}

/* Phase two: blocks, symbols and edges. Touches only this object and
 * `arena`, so objects can be read in parallel. */
rivet_error *rv_elf_read_contents(elf_reader *r, rv_arena *arena) {
    r->arena = arena;
    rivet_error *e = create_blocks(r);
    if (!e) e = read_symbols(r);
    if (!e) e = read_relocations(r);
    if (!e) {
        r->obj->first_global = r->symtab_index ? r->sh[r->symtab_index].sh_info : 0;
        return NULL;
    }
    return rivet_error_wrap(e, "%s", r->obj->name);
}

rivet_error *rv_elf_read_object(rivet_link *l, rv_object *obj) {
    elf_reader *r;
    rivet_error *e = rv_elf_read_headers(l, obj, &r);
    return e ? e : rv_elf_read_contents(r, &l->arena);
}
