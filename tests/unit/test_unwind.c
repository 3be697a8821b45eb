/* Checks the .eh_frame re-encoding for functions at a 4 GiB boundary
 * (executor/services/eh_frame_wide.c) on hand-built sections placed next
 * to such a function: a section libgcc reads whole needs no copy; one
 * with a hidden FDE is widened, and the copy describes the same frames
 * (PC begin, range, LSDA, personality, CFA instructions, terminator);
 * malformed or unsupported sections get no copy, and are read only within
 * their bounds (each ends at an inaccessible page). End to end: libgcc's
 * _Unwind_Find_FDE misses the boundary function's FDE registered in place
 * and finds it in the widened copy, and through the unwind registrar. */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "check.h"
#include "eh_frame_decode.h"
#include "executor/services/services.h"

/* libgcc's unwinder (unwind-dw2-fde.h; not in any installed header). */
struct dwarf_eh_bases {
    void *tbase, *dbase, *func;
};
const void *_Unwind_Find_FDE(void *pc, struct dwarf_eh_bases *bases);
void __register_frame(const void *begin);
void __deregister_frame(const void *begin);

#define PAGE 4096u
#define ADDR(p) ((uint64_t)(uintptr_t)(p))

/* Three pages from a 4 GiB-aligned address: "code" (the boundary function
 * at its first byte, others every 0x40 bytes; never run), data (the
 * personality slot, LSDAs, then the section under test, ending at the
 * page's end), and an inaccessible guard page. */
static uint8_t *base, *guard;
#define CODE(off) (ADDR(base) + (off))
#define SLOT (ADDR(base) + PAGE)
#define LSDA1 (ADDR(base) + PAGE + 64)
#define LSDA2 (ADDR(base) + PAGE + 96)

static void fake_personality(void) {}

static bool map_boundary(void)
{
    /* From 64 GiB up in 12 GiB steps; under ASan the walk passes its
     * shadow memory (up to about 16 TiB), where nothing can be mapped. */
    for (uint64_t k = 16; k < 0x7f00; k += 3) {
        void *want = (void *)(uintptr_t)(k << 32);
        void *p = mmap(want, 3 * PAGE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (p == want) {
            base = p;
            guard = base + 2 * PAGE;
            void (*fp)(void) = fake_personality;
            memcpy(base + PAGE, &fp, sizeof(fp));
            memset(base + PAGE + 64, 0xff, 64); /* LSDA bytes, never read */
            return mprotect(guard, PAGE, PROT_NONE) == 0;
        }
        if (p != MAP_FAILED)
            munmap(p, 3 * PAGE);
    }
    return false;
}

/* ----------------------------------------------------- building sections */

typedef struct builder {
    uint8_t bytes[2048];
    size_t n;
    uint64_t at; /* the address bytes[0] will have */
    bool bad;    /* a value did not fit its field: a mistake in the test */
} builder;

static void emit(builder *b, const void *p, size_t n)
{
    if (b->n + n <= sizeof(b->bytes))
        memcpy(b->bytes + b->n, p, n);
    else
        b->bad = true;
    b->n += n;
}

static void emit_u8(builder *b, uint8_t v) { emit(b, &v, 1); }
static void emit_u32(builder *b, uint32_t v) { emit(b, &v, 4); }

static void patch_u32(builder *b, size_t at, uint32_t v)
{
    if (at + 4 <= sizeof(b->bytes))
        memcpy(b->bytes + at, &v, 4);
}

/* A value in encoding `enc` at the current position; PC-relative is the
 * only application computed (other applications store `v` as it is). */
static void emit_value(builder *b, uint8_t enc, uint64_t v)
{
    if ((enc & 0x70) == 0x10 && v != 0)
        v -= b->at + b->n;
    switch (enc & 0x0f) {
    case 0x00: case 0x04: case 0x0c:
        emit(b, &v, 8);
        break;
    case 0x02: case 0x0a: {
        uint16_t w = (uint16_t)v;
        b->bad |= (int64_t)v != (int16_t)w;
        emit(b, &w, 2);
        break;
    }
    default: { /* 4 bytes, also for formats nobody defines */
        uint32_t w = (uint32_t)v;
        b->bad |= (enc & 0x70) == 0x10 && (int64_t)v != (int32_t)w;
        emit(b, &w, 4);
    }
    }
}

/* Pad with DW_CFA_nop to a multiple of 4 bytes, then set the length. */
static void end_record(builder *b, size_t start, bool pad)
{
    while (pad && (b->n - start) % 4)
        emit_u8(b, 0);
    patch_u32(b, start, (uint32_t)(b->n - start - 4));
}

typedef struct cie_spec {
    uint8_t version;
    const char *aug;
    uint8_t fde_enc, lsda_enc, personality_enc;
    uint64_t personality; /* the slot, when the encoding is indirect */
    const uint8_t *insns;
    size_t insns_len;
} cie_spec;

typedef struct fde_spec {
    uint64_t pc_begin, pc_range, lsda;
    const uint8_t *insns;
    size_t insns_len;
    bool unpadded;
} fde_spec;

static size_t put_cie(builder *b, const cie_spec *c)
{
    size_t start = b->n;
    emit_u32(b, 0);
    emit_u32(b, 0); /* CIE id */
    emit_u8(b, c->version);
    emit(b, c->aug, strlen(c->aug) + 1);
    if (c->version == 4) {
        emit_u8(b, 8); /* address size */
        emit_u8(b, 0); /* segment selector size */
    }
    emit_u8(b, 1);    /* code alignment */
    emit_u8(b, 0x78); /* data alignment -8 */
    emit_u8(b, 16);   /* return address: rip (a byte, or a ULEB128) */
    if (c->aug[0] == 'z') {
        size_t len_at = b->n;
        emit_u8(b, 0);
        for (const char *a = c->aug + 1; *a; a++) {
            if (*a == 'R') {
                emit_u8(b, c->fde_enc);
            } else if (*a == 'L') {
                emit_u8(b, c->lsda_enc);
            } else if (*a == 'P') {
                emit_u8(b, c->personality_enc);
                emit_value(b, c->personality_enc & 0x7f, c->personality);
            }
        }
        if (len_at < sizeof(b->bytes))
            b->bytes[len_at] = (uint8_t)(b->n - len_at - 1);
    }
    emit(b, c->insns, c->insns_len);
    end_record(b, start, true);
    return start;
}

static size_t put_fde(builder *b, size_t cie_at, const cie_spec *c,
                      const fde_spec *f)
{
    size_t start = b->n;
    emit_u32(b, 0);
    emit_u32(b, (uint32_t)(start + 4 - cie_at)); /* back to the CIE */
    emit_value(b, c->fde_enc, f->pc_begin);
    emit_value(b, c->fde_enc & 0x0f, f->pc_range);
    if (c->aug[0] == 'z') {
        size_t len_at = b->n;
        emit_u8(b, 0);
        if (c->lsda_enc != 0xff)
            emit_value(b, c->lsda_enc, f->lsda);
        if (len_at < sizeof(b->bytes))
            b->bytes[len_at] = (uint8_t)(b->n - len_at - 1);
    }
    emit(b, f->insns, f->insns_len);
    end_record(b, start, !f->unpadded);
    return start;
}

typedef void (*section_fn)(builder *b);

static builder built;
static size_t placed_size;

/* Build a section so that it ends where the guard page starts; returns
 * its address. Every PC-relative value is computed for that address. */
static uint8_t *place(section_fn fn)
{
    memset(&built, 0, sizeof(built));
    built.at = ADDR(guard) - sizeof(built.bytes);
    fn(&built);
    size_t n = built.n;
    memset(&built, 0, sizeof(built));
    built.at = ADDR(guard) - n;
    fn(&built);
    CHECK(!built.bad && built.n == n && n <= sizeof(built.bytes));
    uint8_t *at = guard - n;
    memset(base + PAGE + 128, 0, PAGE - 128);
    memcpy(at, built.bytes, n < sizeof(built.bytes) ? n : sizeof(built.bytes));
    placed_size = n;
    return at;
}

/* The widener's answer for [sec, sec + n); a failure counts as a failed
 * check and gives NULL. */
static void *widen(const uint8_t *sec, size_t n)
{
    void *copy = (void *)&copy; /* must be overwritten */
    CHECK_OK(rv_eh_frame_widen_hidden(ADDR(sec), ADDR(sec) + n, &copy));
    return copy == (void *)&copy ? NULL : copy;
}

static ehd_section orig_frames, wide_frames;

/* `copy` (may be NULL) is a widened `sec`: both decode, describe the same
 * frames, the copy ends with its terminator, hides nothing, and needs no
 * further copy. The original is unchanged (compared with `built`). */
static bool check_widened(const uint8_t *sec, size_t n, void *copy)
{
    CHECK(copy != NULL);
    if (!copy)
        return false;
    CHECK(memcmp(sec, built.bytes, n) == 0);
    bool orig_ok = ehd_decode(sec, n, &orig_frames);
    bool wide_ok = ehd_decode(copy, malloc_usable_size(copy), &wide_frames);
    CHECK(orig_ok);
    CHECK(wide_ok);
    if (!orig_ok || !wide_ok)
        return false;
    CHECK(ehd_same_frames(&orig_frames, &wide_frames));
    uint32_t last;
    memcpy(&last, (uint8_t *)copy + wide_frames.size - 4, 4);
    CHECK(last == 0 && wide_frames.size % 4 == 0);
    bool hidden = false;
    for (size_t i = 0; i < orig_frames.fde_count; i++)
        hidden |= ehd_fde_hidden(&orig_frames, &orig_frames.fdes[i]);
    CHECK(hidden);
    for (size_t i = 0; i < wide_frames.fde_count; i++)
        CHECK(!ehd_fde_hidden(&wide_frames, &wide_frames.fdes[i]));
    void *again = widen(copy, wide_frames.size);
    CHECK(again == NULL);
    free(again);
    return true;
}

/* ------------------------------------------------------------- contents */

/* CFA = rsp+8, return address at CFA-8 */
static const uint8_t cie_insns[] = {0x0c, 7, 8, 0x90, 1};
/* push %rbp; mov %rsp,%rbp */
static const uint8_t fde_insns[] = {0x41, 0x0e, 16, 0x86, 2, 0x43, 0x0d, 6};
/* Every instruction the re-encoding steps over, operands chosen so that a
 * misread length lands on a 0x01 (DW_CFA_set_loc) and is refused. */
static const uint8_t all_insns[] = {
    0x02, 1,                   /* advance_loc1 */
    0x03, 1, 1,                /* advance_loc2 */
    0x04, 1, 1, 1, 1,          /* advance_loc4 */
    0x05, 1, 1,                /* offset_extended */
    0x06, 1,                   /* restore_extended */
    0x07, 1,                   /* undefined */
    0x08, 1,                   /* same_value */
    0x09, 1, 1,                /* register */
    0x0a, 0x0b,                /* remember_state, restore_state */
    0x0c, 7, 0x81, 1,          /* def_cfa, ULEB128 offset in two bytes */
    0x0d, 1,                   /* def_cfa_register */
    0x0e, 0x81, 1,             /* def_cfa_offset */
    0x0f, 3, 1, 1, 1,          /* def_cfa_expression, a 3-byte block */
    0x10, 1, 2, 1, 1,          /* expression */
    0x11, 1, 0x7f,             /* offset_extended_sf */
    0x12, 1, 0x81, 0x7f,       /* def_cfa_sf */
    0x13, 0x7f,                /* def_cfa_offset_sf */
    0x14, 1, 1,                /* val_offset */
    0x15, 1, 0x7f,             /* val_offset_sf */
    0x16, 1, 1, 1,             /* val_expression */
    0x2e, 0x81, 1,             /* GNU_args_size */
    0x2f, 1, 1,                /* GNU_negative_offset_extended */
    0x2d,                      /* GNU_window_save */
    0x46, 0x86, 1, 0xc6, 0x00, /* advance_loc, offset, restore, nop */
};

#define INSNS(a) a, sizeof(a)
static const cie_spec zr = {1, "zR", 0x1b, 0xff, 0xff, 0, INSNS(cie_insns)};
static cie_spec zplr; /* the personality slot is known at run time */

static void init_specs(void)
{
    zplr = (cie_spec){1, "zPLR", 0x1b, 0x1b, 0x9b, SLOT, INSNS(cie_insns)};
}

static fde_spec fde(uint64_t pc, uint64_t range, uint64_t lsda)
{
    return (fde_spec){pc, range, lsda, INSNS(fde_insns), false};
}

/* No FDE at the boundary: libgcc sees them all. */
static void sec_plain(builder *b)
{
    size_t c0 = put_cie(b, &zr);
    fde_spec f1 = fde(CODE(0x40), 0x20, 0), f2 = fde(CODE(0x80), 0x40, LSDA1);
    put_fde(b, c0, &zr, &f1);
    size_t c1 = put_cie(b, &zplr);
    put_fde(b, c1, &zplr, &f2);
    emit_u32(b, 0);
}

/* The boundary function, but in encodings with 8 bytes for PC begin. */
static void sec_boundary_8byte(builder *b)
{
    static const cie_spec r8 = {1, "zR", 0x1c, 0xff, 0xff, 0, INSNS(cie_insns)};
    static const cie_spec abs8 = {1, "zR", 0x00, 0xff, 0xff, 0, INSNS(cie_insns)};
    static const cie_spec none = {1, "", 0x00, 0xff, 0xff, 0, INSNS(cie_insns)};
    fde_spec f = fde(CODE(0), 0x40, 0);
    put_fde(b, put_cie(b, &r8), &r8, &f);
    put_fde(b, put_cie(b, &abs8), &abs8, &f);
    put_fde(b, put_cie(b, &none), &none, &f);
    emit_u32(b, 0);
}

/* A compiler-shaped section with the boundary function among others, and
 * CIEs of every kind the re-encoding handles. */
#define MIXED_FDES 9
static const uint64_t mixed_pc[MIXED_FDES] = {0x40, 0, 0x80, 0xc0, 0x100,
                                              0x140, 0x180, 0x1c0, 0x200};
static void sec_mixed(builder *b)
{
    /* version 3: ULEB128 return address register; 'S' has no data */
    static const cie_spec v3 = {3, "zRS", 0x1b, 0xff, 0xff, 0, INSNS(cie_insns)};
    static const cie_spec r2 = {1, "zR", 0x1a, 0xff, 0xff, 0, INSNS(cie_insns)};
    static const cie_spec none = {1, "", 0x00, 0xff, 0xff, 0, INSNS(cie_insns)};
    /* version 4, personality as a direct absolute address, PC begin in
     * pcrel|sdata8, LSDA in pcrel|sdata4 */
    cie_spec v4 = {4, "zPLR", 0x1c, 0x1b, 0x00,
                   ADDR((void *)fake_personality), INSNS(all_insns)};
    size_t c0 = put_cie(b, &zr);
    fde_spec f = fde(CODE(0x40), 0x20, 0);
    f.insns = all_insns, f.insns_len = sizeof(all_insns);
    put_fde(b, c0, &zr, &f);
    size_t c1 = put_cie(b, &zplr);
    f = fde(CODE(0), 0x40, LSDA1); /* the hidden one */
    put_fde(b, c1, &zplr, &f);
    f = fde(CODE(0x80), 0x10, 0);  /* no LSDA: a PC-relative 0 */
    put_fde(b, c1, &zplr, &f);
    size_t c2 = put_cie(b, &v3);
    f = fde(CODE(0xc0), 0x30, 0);
    put_fde(b, c2, &v3, &f);
    size_t c3 = put_cie(b, &r2);
    f = fde(CODE(0x100), 0x3f, 0);
    put_fde(b, c3, &r2, &f);
    size_t c4 = put_cie(b, &none);
    f = fde(CODE(0x140), 0x40, 0);
    put_fde(b, c4, &none, &f);
    size_t c5 = put_cie(b, &v4);
    f = fde(CODE(0x180), 0x40, LSDA2);
    put_fde(b, c5, &v4, &f);
    f = fde(CODE(0x1c0), 0x8, 0);  /* back to the first CIE */
    f.insns_len = 0;
    put_fde(b, c0, &zr, &f);
    f = fde(CODE(0x200), 0x20, LSDA2);
    f.unpadded = true;             /* an odd length, no padding */
    f.insns_len = 1;
    put_fde(b, c1, &zplr, &f);
    emit_u32(b, 0);
}

/* 2-byte PC begin: libgcc skips a function at any 64 KiB boundary. */
static void sec_sdata2(builder *b)
{
    static const cie_spec r2 = {1, "zR", 0x1a, 0xff, 0xff, 0, INSNS(cie_insns)};
    size_t c = put_cie(b, &r2);
    fde_spec f = fde(CODE(0), 0x40, 0);
    put_fde(b, c, &r2, &f);
    emit_u32(b, 0);
}

/* A zero word in the middle: libgcc stops reading there. */
static bool hidden_first;
static void sec_early_terminator(builder *b)
{
    size_t c = put_cie(b, &zr);
    fde_spec f1 = fde(CODE(hidden_first ? 0 : 0x40), 0x40, 0);
    fde_spec f2 = fde(CODE(hidden_first ? 0x40 : 0), 0x40, 0);
    put_fde(b, c, &zr, &f1);
    emit_u32(b, 0);
    put_fde(b, c, &zr, &f2);
    emit_u32(b, 0);
}

static void test_not_needed(void)
{
    uint8_t *sec = place(sec_plain);
    CHECK(widen(sec, placed_size) == NULL);
    CHECK(ehd_decode(sec, placed_size, &orig_frames) &&
          orig_frames.fde_count == 2);
    sec = place(sec_boundary_8byte);
    CHECK(widen(sec, placed_size) == NULL);
    CHECK(ehd_decode(sec, placed_size, &orig_frames) &&
          orig_frames.fde_count == 3 && orig_frames.fdes[0].pc_begin == CODE(0));
    /* nothing at all, the terminator alone, and an inverted range */
    CHECK(widen(guard, 0) == NULL);
    memset(guard - 4, 0, 4);
    CHECK(widen(guard - 4, 4) == NULL);
    void *copy = &copy;
    CHECK_OK(rv_eh_frame_widen_hidden(ADDR(guard), ADDR(guard) - 8, &copy));
    CHECK(copy == NULL);
}

static void test_widened(void)
{
    uint8_t *sec = place(sec_mixed);
    void *copy = widen(sec, placed_size);
    if (check_widened(sec, placed_size, copy)) {
        CHECK(wide_frames.fde_count == MIXED_FDES);
        for (size_t i = 0; i < wide_frames.fde_count && i < MIXED_FDES; i++) {
            const ehd_fde *f = &wide_frames.fdes[i];
            CHECK(f->pc_begin == CODE(mixed_pc[i]));
            /* 8-byte absolute, 8-aligned: libgcc reads the pair directly */
            CHECK(ADDR(f->pc_begin_field) % 8 == 0);
            uint64_t stored;
            memcpy(&stored, f->pc_begin_field, 8);
            CHECK(stored == CODE(mixed_pc[i]));
        }
        CHECK(wide_frames.fdes[1].lsda == LSDA1);
        CHECK(wide_frames.fdes[2].lsda == 0);
        CHECK(wide_frames.fdes[6].lsda == LSDA2);
        CHECK(wide_frames.fdes[3].pc_range == 0x30);
        const ehd_cie *p = &wide_frames.cies[wide_frames.fdes[1].cie];
        CHECK(p->personality == SLOT && p->personality_enc == 0x80);
        void (*fp)(void);
        memcpy(&fp, (const void *)(uintptr_t)p->personality, sizeof(fp));
        CHECK(fp == fake_personality);
        p = &wide_frames.cies[wide_frames.fdes[6].cie];
        CHECK(p->personality == ADDR((void *)fake_personality) &&
              p->personality_enc == 0x00);
        CHECK(wide_frames.fdes[0].insns_len >= sizeof(all_insns) &&
              memcmp(wide_frames.fdes[0].insns, all_insns, sizeof(all_insns)) == 0);
    }
    free(copy);

    sec = place(sec_sdata2);
    copy = widen(sec, placed_size);
    if (check_widened(sec, placed_size, copy))
        CHECK(wide_frames.fde_count == 1 && wide_frames.fdes[0].pc_begin == CODE(0));
    free(copy);

    /* records after an early terminator are not read, as libgcc does not */
    hidden_first = true;
    sec = place(sec_early_terminator);
    copy = widen(sec, placed_size);
    if (check_widened(sec, placed_size, copy))
        CHECK(wide_frames.fde_count == 1);
    free(copy);
    hidden_first = false;
    sec = place(sec_early_terminator);
    CHECK(widen(sec, placed_size) == NULL);
}

/* ------------------------------------------------------------ malformed */

/* What a malformed section damages: in "other", a CIE and FDE placed
 * before or after the boundary function's (hidden_first), so both the scan
 * for hidden FDEs and the re-encoding meet it. */
enum damage {
    INTACT,
    LENGTH_PAST_END,     /* the other FDE runs 0x100 bytes past the end */
    LENGTH_PAST_END_BY_1,
    TRUNCATED_TERMINATOR, /* the section ends 2 bytes into the last word */
    LENGTH_SHORT,        /* a length of 2: no room for the CIE pointer */
    LENGTH_64,           /* 0xffffffff: a 64-bit length follows */
    CIE_PTR_BEFORE_START,
    CIE_PTR_INTO_CIE,
    CIE_PTR_TO_FDE,      /* hidden_first only */
    AUG_UNKNOWN,         /* "zPLX" */
    AUG_EH,              /* the old "eh" augmentation */
    AUG_NO_NUL,          /* the string runs to the end of the CIE */
    AUG_REPEATED,        /* "zPPPR": valid, but no compiler's */
    VERSION_2,
    CIE_AUG_DATA_LONG,   /* the CIE's augmentation data is a byte too long */
    FDE_AUG_DATA_LONG,
    SET_LOC_FDE,         /* DW_CFA_set_loc in the other FDE */
    SET_LOC_CIE,
    CFA_UNKNOWN,         /* opcode 0x3c */
    CFA_TRUNCATED,       /* def_cfa without its offset at the record's end */
    FDE_DATAREL, FDE_TEXTREL, FDE_FUNCREL, FDE_ALIGNED, FDE_INDIRECT, FDE_OMIT,
    FDE_BAD_FORMAT, LSDA_INDIRECT, LSDA_DATAREL, PERSONALITY_DATAREL,
    PERSONALITY_OMIT,
    DAMAGE_COUNT
};
static const char *const damage_names[DAMAGE_COUNT] = {
    "intact", "length past end", "length past end by 1",
    "truncated terminator", "length short", "64-bit length",
    "CIE pointer before start", "CIE pointer into a CIE",
    "CIE pointer to an FDE", "unknown augmentation", "eh augmentation",
    "augmentation without NUL", "repeated letters", "version 2", "CIE augmentation data long",
    "FDE augmentation data long", "set_loc in FDE", "set_loc in CIE",
    "unknown CFA opcode", "truncated CFA instruction", "FDE datarel",
    "FDE textrel", "FDE funcrel", "FDE aligned", "FDE indirect", "FDE omit",
    "FDE bad format", "LSDA indirect", "LSDA datarel", "personality datarel",
    "personality omit",
};
static enum damage damage;

static void put_hidden(builder *b, size_t *fde_at)
{
    size_t c = put_cie(b, &zplr);
    fde_spec f = fde(CODE(0), 0x40, LSDA1);
    *fde_at = put_fde(b, c, &zplr, &f);
}

static void put_other(builder *b, size_t *cie_at, size_t *fde_at)
{
    static const uint8_t set_loc[] = {0x01, 0, 0, 0, 0, 0x41};
    static const uint8_t unknown[] = {0x41, 0x3c, 0x41};
    static const uint8_t truncated[] = {0x41, 0x0c, 7};
    cie_spec c = zplr;
    fde_spec f = fde(CODE(0x40), 0x40, LSDA2);
    switch (damage) {
    case AUG_UNKNOWN: c.aug = "zPLX"; break;
    case AUG_EH: c.aug = "eh"; break;
    case AUG_REPEATED: c.aug = "zPPPR"; break;
    case VERSION_2: c.version = 2; break;
    case SET_LOC_FDE: f.insns = set_loc, f.insns_len = sizeof(set_loc); break;
    case SET_LOC_CIE: c.insns = set_loc, c.insns_len = sizeof(set_loc); break;
    case CFA_UNKNOWN: f.insns = unknown, f.insns_len = sizeof(unknown); break;
    case CFA_TRUNCATED:
        f.insns = truncated, f.insns_len = sizeof(truncated), f.unpadded = true;
        break;
    case FDE_DATAREL: c.fde_enc = 0x3b; break;
    case FDE_TEXTREL: c.fde_enc = 0x2b; break;
    case FDE_FUNCREL: c.fde_enc = 0x4b; break;
    case FDE_ALIGNED: c.fde_enc = 0x50; break;
    case FDE_INDIRECT: c.fde_enc = 0x9b; break;
    case FDE_OMIT: c.fde_enc = 0xff; break;
    case FDE_BAD_FORMAT: c.fde_enc = 0x15; break;
    case LSDA_INDIRECT: c.lsda_enc = 0x9b; break;
    case LSDA_DATAREL: c.lsda_enc = 0x3b; break;
    case PERSONALITY_DATAREL: c.personality_enc = 0xbb; break;
    case PERSONALITY_OMIT: c.personality_enc = 0xff; break;
    default: break;
    }
    *cie_at = put_cie(b, &c);
    *fde_at = put_fde(b, *cie_at, &c, &f);
}

static void sec_damaged(builder *b)
{
    size_t hidden_fde, other_cie, other_fde;
    if (hidden_first) {
        put_hidden(b, &hidden_fde);
        put_other(b, &other_cie, &other_fde);
    } else {
        put_other(b, &other_cie, &other_fde);
        put_hidden(b, &hidden_fde);
    }
    emit_u32(b, 0);
    uint32_t len;
    memcpy(&len, b->bytes + other_fde, 4);
    switch (damage) {
    case LENGTH_PAST_END:
        patch_u32(b, other_fde, len + 0x100);
        break;
    case LENGTH_PAST_END_BY_1:
        patch_u32(b, other_fde, (uint32_t)(b->n - other_fde - 4 + 1));
        break;
    case TRUNCATED_TERMINATOR:
        b->n -= 2;
        break;
    case LENGTH_SHORT: patch_u32(b, other_fde, 2); break;
    case LENGTH_64: patch_u32(b, other_fde, 0xffffffffu); break;
    case CIE_PTR_BEFORE_START:
        patch_u32(b, other_fde + 4, (uint32_t)(other_fde + 8));
        break;
    case CIE_PTR_INTO_CIE:
        patch_u32(b, other_fde + 4, (uint32_t)(other_fde + 4 - (other_cie + 4)));
        break;
    case CIE_PTR_TO_FDE:
        patch_u32(b, other_fde + 4, (uint32_t)(other_fde + 4 - hidden_fde));
        break;
    case AUG_NO_NUL: /* "zPLR" and everything after it: no zero byte */
        memset(b->bytes + other_cie + 9, 'z', other_fde - other_cie - 9);
        break;
    case CIE_AUG_DATA_LONG: /* version, "zPLR\0", 1, 0x78, 16, then length */
        b->bytes[other_cie + 17]++;
        break;
    case FDE_AUG_DATA_LONG: /* length, id, pc begin, range, then length */
        b->bytes[other_fde + 16]++;
        break;
    default:
        break;
    }
}

static void test_malformed(void)
{
    for (int order = 0; order < 2; order++) {
        hidden_first = order == 0;
        for (damage = INTACT; damage < DAMAGE_COUNT; damage++) {
            if (damage == CIE_PTR_TO_FDE && !hidden_first)
                continue;
            uint8_t *sec = place(sec_damaged);
            void *copy = widen(sec, placed_size);
            if (damage == INTACT) {
                /* the control: undamaged, the section is widened */
                check_widened(sec, placed_size, copy);
            } else if (copy) {
                check_failed++;
                fprintf(stderr, "%s:%d: %s, %s: widened\n", __FILE__, __LINE__,
                        damage_names[damage],
                        hidden_first ? "after the hidden FDE" : "before it");
            } else {
                check_passed++;
            }
            free(copy);
        }
    }
    hidden_first = false;
    damage = INTACT;
}

/* -------------------------------------------------------- through libgcc */

static void sec_two(builder *b)
{
    size_t c = put_cie(b, &zr);
    fde_spec f1 = fde(CODE(0), 0x40, 0), f2 = fde(CODE(0x40), 0x40, 0);
    put_fde(b, c, &zr, &f1);
    put_fde(b, c, &zr, &f2);
    emit_u32(b, 0);
}

/* The function _Unwind_Find_FDE reports for a PC inside CODE(off), or 0. */
static uint64_t found(uint64_t off)
{
    struct dwarf_eh_bases bases = {0};
    const void *fde = _Unwind_Find_FDE((void *)(uintptr_t)(CODE(off) + 5), &bases);
    return fde ? ADDR(bases.func) : 0;
}

static void test_libgcc(void)
{
    uint8_t *sec = place(sec_two);
    /* in place, libgcc takes the boundary function's FDE for a discarded
     * function's: the reason for the copy */
    __register_frame(sec);
    CHECK(found(0) == 0);
    CHECK(found(0x40) == CODE(0x40));
    __deregister_frame(sec);
    CHECK(found(0x40) == 0);

    /* registered only if it decodes: libgcc would read a bad one astray */
    void *copy = widen(sec, placed_size);
    bool good = copy && ehd_decode(copy, malloc_usable_size(copy), &wide_frames);
    CHECK(good);
    if (good) {
        __register_frame(copy);
        CHECK(found(0) == CODE(0));
        CHECK(found(0x40) == CODE(0x40));
        __deregister_frame(copy);
        CHECK(found(0) == 0);
    }
    free(copy);

    /* the registrar does it by itself, and forgets the copy */
    CHECK_OK(rv_unwind_register(ADDR(sec), ADDR(sec) + placed_size));
    CHECK(found(0) == CODE(0));
    CHECK(found(0x40) == CODE(0x40));
    CHECK_OK(rv_unwind_deregister(ADDR(sec), ADDR(sec) + placed_size));
    CHECK(found(0) == 0);
    CHECK(found(0x40) == 0);
}

/* The registrar follows the records' length words, as libgcc will, and
 * refuses a section whose walk does not end at a zero word inside it
 * (a zero last word that is only a record's padding is not enough). */
static void test_registrar_walk(void)
{
    uint32_t padded[4] = {12, 0x1234, 0x5678, 0}; /* one record, no terminator */
    rivet_error *e = rv_unwind_register(ADDR(padded), ADDR(padded) + sizeof(padded));
    CHECK(e && rivet_error_get_code(e) == RIVET_ERR_MALFORMED &&
          strstr(rivet_error_message(e), "zero terminator"));
    rivet_error_free(e);
    uint32_t long_record[4] = {100, 1, 2, 0}; /* runs past the end */
    e = rv_unwind_register(ADDR(long_record), ADDR(long_record) + sizeof(long_record));
    CHECK(e && rivet_error_get_code(e) == RIVET_ERR_MALFORMED &&
          strstr(rivet_error_message(e), "past the end"));
    rivet_error_free(e);
    uint32_t wide_length[3] = {0xffffffffu, 0, 0}; /* 64-bit length, cut off */
    e = rv_unwind_register(ADDR(wide_length), ADDR(wide_length) + sizeof(wide_length));
    CHECK(e && rivet_error_get_code(e) == RIVET_ERR_MALFORMED);
    rivet_error_free(e);
    /* refused sections were never registered */
    CHECK_FAILS(rv_unwind_deregister(ADDR(padded), ADDR(padded) + sizeof(padded)),
                RIVET_ERR_NOT_FOUND);
}

int main(void)
{
    test_registrar_walk();
    if (!map_boundary()) {
        printf("test_unwind: no free page at a 4 GiB boundary; skipped\n");
        return check_report("test_unwind");
    }
    init_specs();
    test_not_needed();
    test_widened();
    test_malformed();
    test_libgcc();
    munmap(base, 3 * PAGE);
    return check_report("test_unwind");
}
