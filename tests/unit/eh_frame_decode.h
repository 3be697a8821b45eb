/*
 * tests/unit/eh_frame_decode.h — an .eh_frame reader for the tests of
 * executor/services/eh_frame_wide.c (tests/unit/test_unwind.c and
 * tests/fuzz/fuzz_eh_frame.c), written separately from it so that the two
 * check each other.
 *
 * It reads a section the way libgcc's unwinder does (unwind-dw2-fde.c,
 * unwind-pe.h): records up to the first zero length word; a 'z' CIE's
 * augmentation data letter by letter ('R', 'L', 'P' with data; 'S', 'B',
 * 'G' without; any other letter ends the letters, and the data is skipped
 * by its length, as extract_cie_info does); each FDE's PC begin,
 * PC range and LSDA pointer decoded to absolute values (a PC-relative 0
 * stays 0), the personality to the address it names before indirection.
 * Only absolute and PC-relative applications are understood. Every read is
 * bounded by the given size; nothing is written.
 */
#ifndef RIVET_TESTS_EH_FRAME_DECODE_H
#define RIVET_TESTS_EH_FRAME_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define EHD_MAX_RECORDS 1024

typedef struct ehd_cie {
    size_t offset;                 /* of the record in the section */
    uint8_t version;
    const char *aug;
    uint64_t code_align, ra;
    int64_t data_align;
    uint8_t fde_enc, lsda_enc, personality_enc; /* 0xff: absent */
    uint64_t personality;          /* before indirection */
    const uint8_t *insns;
    size_t insns_len;
} ehd_cie;

typedef struct ehd_fde {
    size_t offset;
    size_t cie;                    /* index in ehd_section.cies */
    const uint8_t *pc_begin_field; /* where PC begin is stored */
    uint64_t pc_begin, pc_range, lsda;
    const uint8_t *insns;
    size_t insns_len;
} ehd_fde;

typedef struct ehd_section {
    ehd_cie cies[EHD_MAX_RECORDS];
    ehd_fde fdes[EHD_MAX_RECORDS];
    size_t cie_count, fde_count;
    size_t size; /* bytes through the terminator */
} ehd_section;

typedef struct ehd_reader {
    const uint8_t *p, *end;
    bool ok;
} ehd_reader;

static inline bool ehd_bytes(ehd_reader *r, void *dst, size_t n)
{
    if (!r->ok || (size_t)(r->end - r->p) < n) {
        r->ok = false;
        return false;
    }
    if (dst)
        memcpy(dst, r->p, n);
    r->p += n;
    return true;
}

static inline uint64_t ehd_uleb(ehd_reader *r)
{
    uint64_t v = 0;
    uint8_t b;
    unsigned shift = 0;
    do {
        if (!ehd_bytes(r, &b, 1))
            return 0;
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
    } while (b & 0x80);
    return v;
}

static inline int64_t ehd_sleb(ehd_reader *r)
{
    uint64_t v = 0;
    uint8_t b;
    unsigned shift = 0;
    do {
        if (!ehd_bytes(r, &b, 1))
            return 0;
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
    } while (b & 0x80);
    if (shift < 64 && (b & 0x40))
        v |= ~(uint64_t)0 << shift;
    return (int64_t)v;
}

/* A value of encoding `enc` (its application included, indirection not). */
static inline uint64_t ehd_value(ehd_reader *r, uint8_t enc)
{
    uint64_t here = (uint64_t)(uintptr_t)r->p, v = 0;
    union { uint16_t u16; int16_t s16; uint32_t u32; int32_t s32; uint64_t u64; } u;
    switch (enc & 0x0f) {
    case 0x00: case 0x04: case 0x0c:
        v = ehd_bytes(r, &u.u64, 8) ? u.u64 : 0;
        break;
    case 0x02: v = ehd_bytes(r, &u.u16, 2) ? u.u16 : 0; break;
    case 0x03: v = ehd_bytes(r, &u.u32, 4) ? u.u32 : 0; break;
    case 0x0a: v = ehd_bytes(r, &u.s16, 2) ? (uint64_t)(int64_t)u.s16 : 0; break;
    case 0x0b: v = ehd_bytes(r, &u.s32, 4) ? (uint64_t)(int64_t)u.s32 : 0; break;
    case 0x01: v = ehd_uleb(r); break;
    case 0x09: v = (uint64_t)ehd_sleb(r); break;
    default: r->ok = false; return 0;
    }
    if ((enc & 0x70) == 0x10) {
        if (v != 0)
            v += here;
    } else if ((enc & 0x70) != 0) {
        r->ok = false;
    }
    return v;
}

static inline bool ehd_cie_body(ehd_reader *r, ehd_cie *c)
{
    if (!ehd_bytes(r, &c->version, 1))
        return false;
    const uint8_t *nul = memchr(r->p, 0, (size_t)(r->end - r->p));
    if (!nul)
        return false;
    c->aug = (const char *)r->p;
    r->p = nul + 1;
    if (c->version == 4)
        ehd_bytes(r, NULL, 2);
    c->code_align = ehd_uleb(r);
    c->data_align = ehd_sleb(r);
    if (c->version == 1) {
        uint8_t ra = 0;
        ehd_bytes(r, &ra, 1);
        c->ra = ra;
    } else {
        c->ra = ehd_uleb(r);
    }
    c->fde_enc = 0x00;
    c->lsda_enc = c->personality_enc = 0xff;
    c->personality = 0;
    if (c->aug[0] == 'z') {
        uint64_t len = ehd_uleb(r);
        if (!r->ok || (uint64_t)(r->end - r->p) < len)
            return false;
        ehd_reader d = {r->p, r->p + len, true};
        r->p += len;
        for (const char *a = c->aug + 1; *a; a++) {
            if (*a == 'R') {
                ehd_bytes(&d, &c->fde_enc, 1);
            } else if (*a == 'L') {
                ehd_bytes(&d, &c->lsda_enc, 1);
            } else if (*a == 'P') {
                ehd_bytes(&d, &c->personality_enc, 1);
                c->personality = ehd_value(&d, c->personality_enc & 0x7f);
            } else if (*a != 'S' && *a != 'B' && *a != 'G') {
                break;
            }
        }
        if (!d.ok)
            return false;
    } else if (c->aug[0]) {
        return false;
    }
    c->insns = r->p;
    c->insns_len = (size_t)(r->end - r->p);
    return r->ok;
}

static inline bool ehd_fde_body(ehd_reader *r, const ehd_cie *c, ehd_fde *f)
{
    if (c->fde_enc == 0xff || (c->fde_enc & 0x80))
        return false;
    f->pc_begin_field = r->p;
    f->pc_begin = ehd_value(r, c->fde_enc);
    f->pc_range = ehd_value(r, c->fde_enc & 0x0f);
    f->lsda = 0;
    if (c->aug[0] == 'z') {
        uint64_t len = ehd_uleb(r);
        if (!r->ok || (uint64_t)(r->end - r->p) < len)
            return false;
        ehd_reader d = {r->p, r->p + len, true};
        r->p += len;
        if (c->lsda_enc != 0xff) {
            if (c->lsda_enc & 0x80)
                return false;
            f->lsda = ehd_value(&d, c->lsda_enc);
        }
        if (!d.ok)
            return false;
    }
    f->insns = r->p;
    f->insns_len = (size_t)(r->end - r->p);
    return r->ok;
}

/* Read the section at `p`, at most `limit` bytes, up to its terminator. */
static inline bool ehd_decode(const uint8_t *p, size_t limit, ehd_section *s)
{
    size_t off = 0;
    s->cie_count = s->fde_count = 0;
    for (;;) {
        uint32_t len, id;
        if (limit - off < 4)
            return false;
        memcpy(&len, p + off, 4);
        if (len == 0) {
            s->size = off + 4;
            return true;
        }
        if (len < 4 || len == 0xffffffffu || len > limit - off - 4)
            return false;
        memcpy(&id, p + off + 4, 4);
        ehd_reader r = {p + off + 8, p + off + 4 + len, true};
        if (id == 0) {
            if (s->cie_count == EHD_MAX_RECORDS)
                return false;
            ehd_cie *c = &s->cies[s->cie_count];
            c->offset = off;
            if (!ehd_cie_body(&r, c))
                return false;
            s->cie_count++;
        } else {
            if (s->fde_count == EHD_MAX_RECORDS || id > off + 4)
                return false;
            size_t cie_off = off + 4 - id, lo = 0, hi = s->cie_count;
            while (lo < hi) { /* CIEs are in section order */
                size_t mid = lo + (hi - lo) / 2;
                if (s->cies[mid].offset < cie_off)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo == s->cie_count || s->cies[lo].offset != cie_off)
                return false;
            ehd_fde *f = &s->fdes[s->fde_count];
            f->offset = off;
            f->cie = lo;
            if (!ehd_fde_body(&r, &s->cies[lo], f))
                return false;
            s->fde_count++;
        }
        off += 4 + (size_t)len;
    }
}

/* Bytes of a fixed-size value format; 0 for LEB128. */
static inline unsigned ehd_format_size(uint8_t enc)
{
    switch (enc & 0x0f) {
    case 0x00: case 0x04: case 0x0c: return 8;
    case 0x03: case 0x0b: return 4;
    case 0x02: case 0x0a: return 2;
    }
    return 0;
}

/* Would libgcc skip this FDE although its PC begin is not 0? */
static inline bool ehd_fde_hidden(const ehd_section *s, const ehd_fde *f)
{
    unsigned size = ehd_format_size(s->cies[f->cie].fde_enc);
    uint64_t mask = size < 8 ? ((uint64_t)1 << (size * 8)) - 1 : ~(uint64_t)0;
    return size && f->pc_begin != 0 && (f->pc_begin & mask) == 0;
}

/* `wide` is `orig` plus DW_CFA_nop padding. */
static inline bool ehd_same_insns(const uint8_t *orig, size_t orig_len,
                                  const uint8_t *wide, size_t wide_len)
{
    if (wide_len < orig_len || memcmp(orig, wide, orig_len) != 0)
        return false;
    for (size_t i = orig_len; i < wide_len; i++)
        if (wide[i] != 0)
            return false;
    return true;
}

/* Does `wide` describe the same frames as `orig`, with 8-byte absolute
 * addresses, every record a multiple of 8 bytes (so PC begin is aligned
 * for libgcc's direct read of an absptr pair)? */
static inline bool ehd_same_frames(const ehd_section *orig,
                                   const ehd_section *wide)
{
    if (orig->cie_count != wide->cie_count ||
        orig->fde_count != wide->fde_count)
        return false;
    for (size_t i = 0; i < orig->cie_count; i++) {
        const ehd_cie *a = &orig->cies[i], *b = &wide->cies[i];
        if (a->version != b->version || strcmp(a->aug, b->aug) != 0 ||
            a->code_align != b->code_align || a->data_align != b->data_align ||
            a->ra != b->ra || b->offset % 8 != 0 ||
            (a->aug[0] == 'z' && b->fde_enc != 0x00) ||
            (a->lsda_enc == 0xff) != (b->lsda_enc == 0xff) ||
            (b->lsda_enc != 0xff && b->lsda_enc != 0x00) ||
            (a->personality_enc == 0xff) != (b->personality_enc == 0xff) ||
            (b->personality_enc != 0xff &&
             b->personality_enc != (a->personality_enc & 0x80)) ||
            a->personality != b->personality ||
            !ehd_same_insns(a->insns, a->insns_len, b->insns, b->insns_len))
            return false;
    }
    for (size_t i = 0; i < orig->fde_count; i++) {
        const ehd_fde *a = &orig->fdes[i], *b = &wide->fdes[i];
        if (a->cie != b->cie || a->pc_begin != b->pc_begin ||
            a->pc_range != b->pc_range || a->lsda != b->lsda ||
            b->offset % 8 != 0 ||
            !ehd_same_insns(a->insns, a->insns_len, b->insns, b->insns_len))
            return false;
    }
    return true;
}

#endif
