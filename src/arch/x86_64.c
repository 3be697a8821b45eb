/*
 * arch/x86_64.c — x86-64: relocation mapping, fixups, GOT entries, stubs.
 *
 * Briefing (System V x86-64 psABI): code is little-endian; PC-relative
 * fields are relative to the address of the field itself (the -4 that makes
 * them relative to the next instruction is in the addend). The small code
 * model puts all code and data within 2 GiB, so most references are 32-bit
 * signed displacements; far targets (host libraries) are reached through GOT
 * entries holding 64-bit addresses and stubs `jmp *entry(%rip)`. Objects
 * mark GOT loads the linker may rewrite with GOTPCRELX/REX_GOTPCRELX
 * (psABI B.2, "Optimize GOTPCRELX Relocations").
 *
 * Thread-local storage: variant II, the static TLS blocks lie below the
 * thread pointer %fs:0. rivet keeps no instruction rewriting for TLS: every
 * access model works unchanged because link/tls.c places the link's TLS in
 * the executor's static TLS arena and fills the TLS GOT entries the code
 * sequences load (general/local dynamic call __tls_get_addr, bound to the
 * executor's rivet_tls_get_addr).
 */
#include "arch/x86_64.h"

#include <elf.h>
#include <string.h>

#include "arch/arch.h"

static const char *const edge_names[RV_X86_64_EDGE_KIND_COUNT] = {
    [RV_X86_64_POINTER64] = "POINTER64",
    [RV_X86_64_POINTER32] = "POINTER32",
    [RV_X86_64_POINTER32_SIGNED] = "POINTER32_SIGNED",
    [RV_X86_64_POINTER16] = "POINTER16",
    [RV_X86_64_POINTER8] = "POINTER8",
    [RV_X86_64_DELTA64] = "DELTA64",
    [RV_X86_64_DELTA32] = "DELTA32",
    [RV_X86_64_DELTA16] = "DELTA16",
    [RV_X86_64_DELTA8] = "DELTA8",
    [RV_X86_64_BRANCH_PCREL32] = "BRANCH_PCREL32",
    [RV_X86_64_GOT_PCREL32] = "GOT_PCREL32",
    [RV_X86_64_GOT_PCREL32_RELAXABLE] = "GOT_PCREL32_RELAXABLE",
    [RV_X86_64_GOT_PCREL32_REX_RELAXABLE] = "GOT_PCREL32_REX_RELAXABLE",
    [RV_X86_64_GOT_PCREL64] = "GOT_PCREL64",
    [RV_X86_64_GOT_BASE_DELTA32] = "GOT_BASE_DELTA32",
    [RV_X86_64_GOT_BASE_DELTA64] = "GOT_BASE_DELTA64",
    [RV_X86_64_GOT_BASE_OFFSET64] = "GOT_BASE_OFFSET64",
    [RV_X86_64_GOT_ENTRY_OFFSET32] = "GOT_ENTRY_OFFSET32",
    [RV_X86_64_GOT_ENTRY_OFFSET64] = "GOT_ENTRY_OFFSET64",
    [RV_X86_64_STUB_OFFSET64] = "STUB_OFFSET64",
    [RV_X86_64_SIZE32] = "SIZE32",
    [RV_X86_64_SIZE64] = "SIZE64",
    [RV_X86_64_TLS_GD_PAIR_PCREL32] = "TLS_GD_PAIR_PCREL32",
    [RV_X86_64_TLS_LD_PAIR_PCREL32] = "TLS_LD_PAIR_PCREL32",
    [RV_X86_64_TLS_DTPOFF32] = "TLS_DTPOFF32",
    [RV_X86_64_TLS_DTPOFF64] = "TLS_DTPOFF64",
    [RV_X86_64_TLS_GOT_TPOFF_PCREL32] = "TLS_GOT_TPOFF_PCREL32",
    [RV_X86_64_TLS_TPOFF32] = "TLS_TPOFF32",
    [RV_X86_64_TLS_TPOFF64] = "TLS_TPOFF64",
    [RV_X86_64_TLS_MODULE64] = "TLS_MODULE64",
    [RV_X86_64_TLS_DESC_PCREL32] = "TLS_DESC_PCREL32",
};

static const char *x86_64_edge_kind_name(uint32_t kind) {
    return kind < RV_X86_64_EDGE_KIND_COUNT ? edge_names[kind] : "?";
}

static const char *x86_64_reloc_name(uint32_t type) {
    static const char *const names[] = {
#define N(x) [R_X86_64_##x] = "R_X86_64_" #x
        N(NONE), N(64), N(PC32), N(GOT32), N(PLT32), N(COPY), N(GLOB_DAT),
        N(JUMP_SLOT), N(RELATIVE), N(GOTPCREL), N(32), N(32S), N(16),
        N(PC16), N(8), N(PC8), N(DTPMOD64), N(DTPOFF64), N(TPOFF64),
        N(TLSGD), N(TLSLD), N(DTPOFF32), N(GOTTPOFF), N(TPOFF32), N(PC64),
        N(GOTOFF64), N(GOTPC32), N(GOT64), N(GOTPCREL64), N(GOTPC64),
        N(GOTPLT64), N(PLTOFF64), N(SIZE32), N(SIZE64), N(GOTPC32_TLSDESC),
        N(TLSDESC_CALL), N(TLSDESC), N(IRELATIVE), N(RELATIVE64),
        N(GOTPCRELX), N(REX_GOTPCRELX),
#undef N
    };
    if (type < sizeof names / sizeof names[0] && names[type])
        return names[type];
    return "R_X86_64_<unknown>";
}

static rivet_error *x86_64_classify_reloc(uint32_t type, rv_reloc_info *out) {
    static const struct { uint32_t kind; uint8_t width; } map[] = {
        [R_X86_64_NONE] = {RV_EDGE_DROP, 0},
        [R_X86_64_64] = {RV_X86_64_POINTER64, 8},
        [R_X86_64_PC32] = {RV_X86_64_DELTA32, 4},
        [R_X86_64_GOT32] = {RV_X86_64_GOT_ENTRY_OFFSET32, 4},
        [R_X86_64_PLT32] = {RV_X86_64_BRANCH_PCREL32, 4},
        [R_X86_64_GOTPCREL] = {RV_X86_64_GOT_PCREL32, 4},
        [R_X86_64_32] = {RV_X86_64_POINTER32, 4},
        [R_X86_64_32S] = {RV_X86_64_POINTER32_SIGNED, 4},
        [R_X86_64_16] = {RV_X86_64_POINTER16, 2},
        [R_X86_64_PC16] = {RV_X86_64_DELTA16, 2},
        [R_X86_64_8] = {RV_X86_64_POINTER8, 1},
        [R_X86_64_PC8] = {RV_X86_64_DELTA8, 1},
        [R_X86_64_PC64] = {RV_X86_64_DELTA64, 8},
        [R_X86_64_GOTOFF64] = {RV_X86_64_GOT_BASE_OFFSET64, 8},
        [R_X86_64_GOTPC32] = {RV_X86_64_GOT_BASE_DELTA32, 4},
        [R_X86_64_GOT64] = {RV_X86_64_GOT_ENTRY_OFFSET64, 8},
        [R_X86_64_GOTPCREL64] = {RV_X86_64_GOT_PCREL64, 8},
        [R_X86_64_GOTPC64] = {RV_X86_64_GOT_BASE_DELTA64, 8},
        [R_X86_64_GOTPLT64] = {RV_X86_64_GOT_ENTRY_OFFSET64, 8},
        [R_X86_64_PLTOFF64] = {RV_X86_64_STUB_OFFSET64, 8},
        [R_X86_64_SIZE32] = {RV_X86_64_SIZE32, 4},
        [R_X86_64_SIZE64] = {RV_X86_64_SIZE64, 8},
        [R_X86_64_GOTPCRELX] = {RV_X86_64_GOT_PCREL32_RELAXABLE, 4},
        [R_X86_64_REX_GOTPCRELX] = {RV_X86_64_GOT_PCREL32_REX_RELAXABLE, 4},
        [R_X86_64_DTPMOD64] = {RV_X86_64_TLS_MODULE64, 8},
        [R_X86_64_DTPOFF64] = {RV_X86_64_TLS_DTPOFF64, 8},
        [R_X86_64_TPOFF64] = {RV_X86_64_TLS_TPOFF64, 8},
        [R_X86_64_TLSGD] = {RV_X86_64_TLS_GD_PAIR_PCREL32, 4},
        [R_X86_64_TLSLD] = {RV_X86_64_TLS_LD_PAIR_PCREL32, 4},
        [R_X86_64_DTPOFF32] = {RV_X86_64_TLS_DTPOFF32, 4},
        [R_X86_64_GOTTPOFF] = {RV_X86_64_TLS_GOT_TPOFF_PCREL32, 4},
        [R_X86_64_TPOFF32] = {RV_X86_64_TLS_TPOFF32, 4},
        [R_X86_64_GOTPC32_TLSDESC] = {RV_X86_64_TLS_DESC_PCREL32, 4},
    };
    switch (type) {
    case R_X86_64_TLSDESC_CALL:
        /* marks `call *x@tlscall(%rax)`; the descriptor does the work */
        out->kind = RV_EDGE_DROP;
        out->width = 0;
        return NULL;
    case R_X86_64_TLSDESC:
        return rivet_error_create(RIVET_ERR_UNSUPPORTED,
            "unsupported relocation R_X86_64_TLSDESC in a data section");
    }
    if (type == R_X86_64_NONE || (type < sizeof map / sizeof map[0] &&
                                  map[type].width)) {
        out->kind = map[type].kind;
        out->width = map[type].width;
        return NULL;
    }
    if (type < sizeof map / sizeof map[0] || type <= R_X86_64_REX_GOTPCRELX)
        return rivet_error_create(RIVET_ERR_UNSUPPORTED,
            "unsupported relocation %s (%u) in a relocatable object",
            x86_64_reloc_name(type), type);
    return rivet_error_create(RIVET_ERR_MALFORMED,
                              "unknown relocation type %u", type);
}

static unsigned x86_64_edge_needs(uint32_t kind) {
    switch (kind) {
    case RV_X86_64_POINTER32:
    case RV_X86_64_POINTER32_SIGNED:
        return RV_NEEDS_LOW_MEMORY | RV_NEEDS_REACH32;
    case RV_X86_64_DELTA32:
        return RV_NEEDS_REACH32;
    case RV_X86_64_BRANCH_PCREL32:
        return RV_NEEDS_STUB;
    case RV_X86_64_STUB_OFFSET64:
        return RV_NEEDS_STUB | RV_NEEDS_GOT_BASE;
    case RV_X86_64_GOT_PCREL32:
    case RV_X86_64_GOT_PCREL32_RELAXABLE:
    case RV_X86_64_GOT_PCREL32_REX_RELAXABLE:
    case RV_X86_64_GOT_PCREL64:
        return RV_NEEDS_GOT_ENTRY;
    case RV_X86_64_GOT_ENTRY_OFFSET32:
    case RV_X86_64_GOT_ENTRY_OFFSET64:
        return RV_NEEDS_GOT_ENTRY | RV_NEEDS_GOT_BASE;
    case RV_X86_64_GOT_BASE_DELTA32:
    case RV_X86_64_GOT_BASE_DELTA64:
    case RV_X86_64_GOT_BASE_OFFSET64:
        return RV_NEEDS_GOT_BASE;
    case RV_X86_64_TLS_GD_PAIR_PCREL32:
        return RV_NEEDS_TLS | RV_NEEDS_TLS_GD_PAIR;
    case RV_X86_64_TLS_LD_PAIR_PCREL32:
        return RV_NEEDS_TLS | RV_NEEDS_TLS_LD_PAIR;
    case RV_X86_64_TLS_DTPOFF32:
    case RV_X86_64_TLS_DTPOFF64:
        return RV_NEEDS_TLS;
    case RV_X86_64_TLS_GOT_TPOFF_PCREL32:
        return RV_NEEDS_TLS | RV_NEEDS_TLS_TPOFF | RV_NEEDS_TLS_STATIC;
    case RV_X86_64_TLS_TPOFF32:
    case RV_X86_64_TLS_TPOFF64:
        return RV_NEEDS_TLS | RV_NEEDS_TLS_STATIC;
    case RV_X86_64_TLS_MODULE64:
        return RV_NEEDS_TLS | RV_NEEDS_TLS_MODULE;
    case RV_X86_64_TLS_DESC_PCREL32:
        return RV_NEEDS_TLS | RV_NEEDS_TLS_DESC;
    default:
        return RV_NEEDS_NOTHING;
    }
}

/* stub: jmp *entry(%rip); int3; int3 */
static void x86_64_write_stub(uint8_t *work, rv_edge *edge) {
    static const uint8_t code[8] = {0xff, 0x25, 0, 0, 0, 0, 0xcc, 0xcc};
    memcpy(work, code, sizeof code);
    edge->offset = 2;
    edge->kind = RV_X86_64_DELTA32;
    edge->addend = -4;
    edge->reloc = R_X86_64_PC32;
}

/* int atexit(void (*f)(void)) { return __cxa_atexit(f, NULL, &__dso_handle); }
 *   lea __dso_handle(%rip), %rdx; xor %esi, %esi; jmp *callee@GOTPCREL(%rip) */
static void x86_64_write_cxa_thunk(uint8_t *work, rv_edge edges[2]) {
    static const uint8_t code[16] = {0x48, 0x8d, 0x15, 0, 0, 0, 0, 0x31, 0xf6,
                                     0xff, 0x25, 0, 0, 0, 0, 0xcc};
    memcpy(work, code, sizeof code);
    edges[0] = (rv_edge){.offset = 3, .addend = -4, .kind = RV_X86_64_DELTA32,
                         .reloc = R_X86_64_PC32};
    edges[1] = (rv_edge){.offset = 11, .addend = -4,
                         .kind = RV_X86_64_GOT_PCREL32,
                         .reloc = R_X86_64_GOTPCREL};
}

static bool fits_signed(int64_t v, unsigned bits) {
    int64_t lim = (int64_t)1 << (bits - 1);
    return v >= -lim && v < lim;
}

static bool fits_either(int64_t v, unsigned bits) {
    return v >= -((int64_t)1 << (bits - 1)) && v < ((int64_t)1 << bits);
}

static void put16(uint8_t *p, uint64_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint64_t v) { put16(p, v); put16(p + 2, v >> 16); }
static void put64(uint8_t *p, uint64_t v) { put32(p, v); put32(p + 4, v >> 32); }

static rivet_error *overflow(int64_t value, unsigned bits, const char *how) {
    return rivet_error_create(RIVET_ERR_RANGE,
        "value 0x%llx out of range for a %u-bit %s field",
        (unsigned long long)value, bits, how);
}

/* Rewrite a GOT load into a direct reference (psABI B.2). Returns false
 * when the instruction is not one rivet knows how to relax. `loc` points at
 * the 32-bit field; the opcode bytes precede it. */
static bool relax_got_load(uint8_t *loc, uint64_t offset, bool rex, int64_t value) {
    if (offset < 2 || (rex && offset < 3))
        return false;
    uint8_t op = loc[-2], modrm = loc[-1];
    if (op == 0x8b) {                   /* mov foo@GOTPCREL(%rip), %reg */
        loc[-2] = 0x8d;                 /* -> lea foo(%rip), %reg */
        put32(loc, (uint64_t)value);
        return true;
    }
    if (rex || op != 0xff)
        return false;
    if (modrm == 0x15) {                /* call *foo@GOTPCREL(%rip) */
        loc[-2] = 0x67;                 /* -> addr32 call foo */
        loc[-1] = 0xe8;
        put32(loc, (uint64_t)value);
        return true;
    }
    if (modrm == 0x25) {                /* jmp *foo@GOTPCREL(%rip) */
        loc[-2] = 0xe9;                 /* -> jmp foo; nop */
        put32(loc - 1, (uint64_t)(value + 1));
        loc[3] = 0x90;
        return true;
    }
    return false;
}

static rivet_error *x86_64_apply_edge(const rv_block *block, const rv_edge *e,
                                      uint8_t *loc, uint64_t P, uint64_t S,
                                      uint64_t G, uint64_t GOT, uint64_t L,
                                      uint64_t Z) {
    int64_t A = e->addend;
    int64_t v;
    switch (e->kind) {
    case RV_X86_64_POINTER64:
        put64(loc, S + A);
        return NULL;
    case RV_X86_64_POINTER32:
        v = (int64_t)(S + A);
        if ((uint64_t)v > UINT32_MAX && L) /* a far function: its stub */
            v = (int64_t)(L + A);
        if ((uint64_t)v > UINT32_MAX)
            return overflow(v, 32, "unsigned");
        put32(loc, (uint64_t)v);
        return NULL;
    case RV_X86_64_POINTER32_SIGNED:
        v = (int64_t)(S + A);
        if (!fits_signed(v, 32) && L)
            v = (int64_t)(L + A);
        if (!fits_signed(v, 32))
            return overflow(v, 32, "signed");
        put32(loc, (uint64_t)v);
        return NULL;
    case RV_X86_64_POINTER16:
        v = (int64_t)(S + A);
        if (!fits_either(v, 16))
            return overflow(v, 16, "");
        put16(loc, (uint64_t)v);
        return NULL;
    case RV_X86_64_POINTER8:
        v = (int64_t)(S + A);
        if (!fits_either(v, 8))
            return overflow(v, 8, "");
        *loc = (uint8_t)v;
        return NULL;
    case RV_X86_64_DELTA64:
        put64(loc, S + A - P);
        return NULL;
    case RV_X86_64_DELTA32:
    case RV_X86_64_BRANCH_PCREL32:
        v = (int64_t)(S + A - P);
        if (!fits_signed(v, 32) && L)
            v = (int64_t)(L + A - P);
        if (!fits_signed(v, 32))
            return overflow(v, 32, "PC-relative");
        put32(loc, (uint64_t)v);
        return NULL;
    case RV_X86_64_DELTA16:
        v = (int64_t)(S + A - P);
        if (!fits_signed(v, 16))
            return overflow(v, 16, "PC-relative");
        put16(loc, (uint64_t)v);
        return NULL;
    case RV_X86_64_DELTA8:
        v = (int64_t)(S + A - P);
        if (!fits_signed(v, 8))
            return overflow(v, 8, "PC-relative");
        *loc = (uint8_t)v;
        return NULL;
    case RV_X86_64_GOT_PCREL32_RELAXABLE:
    case RV_X86_64_GOT_PCREL32_REX_RELAXABLE:
        v = (int64_t)(S + A - P);
        if (fits_signed(v, 32) &&
            relax_got_load(loc, e->offset,
                           e->kind == RV_X86_64_GOT_PCREL32_REX_RELAXABLE, v))
            return NULL;
        /* keep the GOT load */
        __attribute__((fallthrough));
    case RV_X86_64_GOT_PCREL32:
        v = (int64_t)(G + A - P);
        if (!fits_signed(v, 32))
            return overflow(v, 32, "PC-relative GOT");
        put32(loc, (uint64_t)v);
        return NULL;
    case RV_X86_64_GOT_PCREL64:
        put64(loc, G + A - P);
        return NULL;
    case RV_X86_64_GOT_BASE_DELTA32:
        v = (int64_t)(GOT + A - P);
        if (!fits_signed(v, 32))
            return overflow(v, 32, "PC-relative");
        put32(loc, (uint64_t)v);
        return NULL;
    case RV_X86_64_GOT_BASE_DELTA64:
        put64(loc, GOT + A - P);
        return NULL;
    case RV_X86_64_GOT_BASE_OFFSET64:
        put64(loc, S + A - GOT);
        return NULL;
    case RV_X86_64_GOT_ENTRY_OFFSET32:
        v = (int64_t)(G - GOT + A);
        if (!fits_signed(v, 32))
            return overflow(v, 32, "signed");
        put32(loc, (uint64_t)v);
        return NULL;
    case RV_X86_64_GOT_ENTRY_OFFSET64:
        put64(loc, G - GOT + A);
        return NULL;
    case RV_X86_64_STUB_OFFSET64:
        put64(loc, (L ? L : S) - GOT + A);
        return NULL;
    case RV_X86_64_SIZE32:
        v = (int64_t)(Z + A);
        if (!fits_either(v, 32))
            return overflow(v, 32, "");
        put32(loc, (uint64_t)v);
        return NULL;
    case RV_X86_64_SIZE64:
        put64(loc, Z + A);
        return NULL;
    case RV_X86_64_TLS_GD_PAIR_PCREL32:
    case RV_X86_64_TLS_LD_PAIR_PCREL32:
    case RV_X86_64_TLS_GOT_TPOFF_PCREL32:
    case RV_X86_64_TLS_DESC_PCREL32:
        v = (int64_t)(G + A - P);
        if (!fits_signed(v, 32))
            return overflow(v, 32, "PC-relative TLS GOT");
        put32(loc, (uint64_t)v);
        return NULL;
    case RV_X86_64_TLS_DTPOFF32:
    case RV_X86_64_TLS_TPOFF32:
        v = (int64_t)(S + A);
        if (!fits_signed(v, 32))
            return overflow(v, 32, "signed TLS offset");
        put32(loc, (uint64_t)v);
        return NULL;
    case RV_X86_64_TLS_DTPOFF64:
    case RV_X86_64_TLS_TPOFF64:
        put64(loc, S + A);
        return NULL;
    case RV_X86_64_TLS_MODULE64:
        put64(loc, S); /* link/tls.c passes M as S */
        return NULL;
    }
    (void)block;
    return rivet_error_create(RIVET_ERR_UNSUPPORTED, "unknown edge kind %u",
                              e->kind);
}

const rv_arch rv_arch_x86_64 = {
    .name = "x86_64",
    .elf_machine = EM_X86_64,
    .got_entry_size = 8,
    .stub_size = 8,
    .classify_reloc = x86_64_classify_reloc,
    .reloc_name = x86_64_reloc_name,
    .edge_kind_name = x86_64_edge_kind_name,
    .edge_needs = x86_64_edge_needs,
    .got_entry_edge_kind = RV_X86_64_POINTER64,
    .tls_module_edge_kind = RV_X86_64_TLS_MODULE64,
    .tls_dtpoff_edge_kind = RV_X86_64_TLS_DTPOFF64,
    .tls_tpoff_edge_kind = RV_X86_64_TLS_TPOFF64,
    .write_stub = x86_64_write_stub,
    .cxa_thunk_size = 16,
    .write_cxa_thunk = x86_64_write_cxa_thunk,
    .apply_edge = x86_64_apply_edge,
};

const rv_arch *rv_arch_for_elf_machine(uint16_t machine) {
    switch (machine) {
    case EM_X86_64:
        return &rv_arch_x86_64;
    default:
        return NULL;
    }
}
