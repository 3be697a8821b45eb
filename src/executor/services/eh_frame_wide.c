/*
 * executor/services/eh_frame_wide.c — find the FDEs libgcc would not see
 * in an .eh_frame section, and re-encode the section so that it sees them.
 *
 * libgcc's table of registered frames skips every FDE whose PC begin is
 * zero in the bits its encoding can hold: that is how it recognizes the FDE
 * of a discarded link-once function, whose address the static linker set to
 * 0. With the usual 4-byte encoding (pcrel|sdata4) it also skips a function
 * that really starts at an address whose low 32 bits are zero, and JIT'd
 * code can start there (a slab that begins at a 4 GiB boundary puts the
 * first function of its first link there). Unwinding then stops at that
 * function's frame: no handler is found and std::terminate runs.
 *
 * A section with such an FDE is registered as a copy in which every address
 * is an 8-byte absolute value (DW_EH_PE_absptr), which libgcc skips only
 * when it is 0. Only the fields holding addresses change: each CIE's FDE
 * ('R'), personality ('P') and LSDA ('L') encodings and its personality
 * pointer, each FDE's PC begin, PC range and LSDA pointer, and the CIE
 * pointers (distances within the section). Call-frame instructions are
 * copied unchanged; DW_CFA_set_loc (its operand is in the FDE encoding),
 * encodings other than absolute and PC-relative, records not closed by a
 * zero word inside [start, end), and anything else not understood leave
 * the section as it is. Like libgcc, reading stops at the first zero word.
 *
 * Format: LSB "Exception Frame" (.eh_frame) and "DWARF Exception Header
 * Encoding"; call-frame instructions: DWARF 4, section 6.4.2.
 */
#include <stdlib.h>
#include <string.h>

#include "executor/services/services.h"

enum {
    PE_ABSPTR = 0x00, PE_ULEB128 = 0x01, PE_UDATA2 = 0x02, PE_UDATA4 = 0x03,
    PE_UDATA8 = 0x04, PE_SLEB128 = 0x09, PE_SDATA2 = 0x0a, PE_SDATA4 = 0x0b,
    PE_SDATA8 = 0x0c, PE_PCREL = 0x10, PE_INDIRECT = 0x80, PE_OMIT = 0xff,
};

/* ------------------------------------------------------------- reading */

typedef struct cursor {
    const uint8_t *p, *end;
    bool ok;
} cursor;

static const uint8_t *take(cursor *c, uint64_t n)
{
    if (!c->ok || (uint64_t)(c->end - c->p) < n) {
        c->ok = false;
        return NULL;
    }
    const uint8_t *q = c->p;
    c->p += n;
    return q;
}

static uint8_t get_u8(cursor *c)
{
    const uint8_t *q = take(c, 1);
    return q ? *q : 0;
}

static uint32_t get_u32(cursor *c)
{
    uint32_t v = 0;
    const uint8_t *q = take(c, 4);
    if (q)
        memcpy(&v, q, 4);
    return v;
}

static uint64_t get_uleb(cursor *c)
{
    uint64_t v = 0;
    for (unsigned shift = 0;; shift += 7) {
        const uint8_t *q = take(c, 1);
        if (!q)
            return 0;
        if (shift < 64)
            v |= (uint64_t)(*q & 0x7f) << shift;
        if (!(*q & 0x80))
            return v;
    }
}

static int64_t get_sleb(cursor *c)
{
    uint64_t v = 0;
    for (unsigned shift = 0;; shift += 7) {
        const uint8_t *q = take(c, 1);
        if (!q)
            return 0;
        if (shift < 64)
            v |= (uint64_t)(*q & 0x7f) << shift;
        if (!(*q & 0x80)) {
            if (shift + 7 < 64 && (*q & 0x40))
                v |= ~(uint64_t)0 << (shift + 7);
            return (int64_t)v;
        }
    }
}

/* The value format of `enc`, sign-extended as libgcc reads it. */
static uint64_t get_format(cursor *c, uint8_t enc)
{
    int16_t s16;
    int32_t s32;
    uint16_t u16;
    uint64_t u64 = 0;
    const uint8_t *q;
    switch (enc & 0x0f) {
    case PE_ABSPTR: case PE_UDATA8: case PE_SDATA8:
        if ((q = take(c, 8)))
            memcpy(&u64, q, 8);
        return u64;
    case PE_UDATA4:
        return get_u32(c);
    case PE_SDATA4:
        if (!(q = take(c, 4)))
            return 0;
        memcpy(&s32, q, 4);
        return (uint64_t)(int64_t)s32;
    case PE_UDATA2:
        if (!(q = take(c, 2)))
            return 0;
        memcpy(&u16, q, 2);
        return u16;
    case PE_SDATA2:
        if (!(q = take(c, 2)))
            return 0;
        memcpy(&s16, q, 2);
        return (uint64_t)(int64_t)s16;
    case PE_ULEB128:
        return get_uleb(c);
    case PE_SLEB128:
        return (uint64_t)get_sleb(c);
    }
    c->ok = false;
    return 0;
}

/* An encoded address, its indirection not applied. Only absolute and
 * PC-relative values are understood; like libgcc, a PC-relative 0 stays 0
 * (no pointer). */
static uint64_t get_encoded(cursor *c, uint8_t enc)
{
    uint64_t field = (uint64_t)(uintptr_t)c->p;
    uint64_t v = get_format(c, enc);
    if ((enc & 0x70) == PE_PCREL) {
        if (v)
            v += field;
    } else if ((enc & 0x70) != 0) {
        c->ok = false;
    }
    return v;
}

/* Bytes of a fixed-size format; 0 for the LEB128 ones. */
static unsigned format_size(uint8_t enc)
{
    switch (enc & 0x0f) {
    case PE_ABSPTR: case PE_UDATA8: case PE_SDATA8: return 8;
    case PE_UDATA4: case PE_SDATA4: return 4;
    case PE_UDATA2: case PE_SDATA2: return 2;
    }
    return 0;
}

/* --------------------------------------------------------------- records */

typedef struct cie_info {
    uint64_t offset, new_offset;   /* in the section, in the copy */
    const uint8_t *head, *head_end; /* version .. return address register */
    const char *aug;               /* augmentation string */
    const uint8_t *insns, *end;    /* initial instructions */
    uint8_t fde_enc, lsda_enc, personality_enc;
    uint64_t personality;          /* indirection not applied */
    bool z;
} cie_info;

typedef struct fde_info {
    uint64_t pc_begin, pc_range, lsda;
    const uint8_t *insns, *end;
} fde_info;

/* The augmentation data of a 'z' CIE, letter by letter (libgcc's
 * extract_cie_info reads the same letters). */
static bool parse_cie_augmentation(cursor *c, cie_info *ci)
{
    uint64_t len = get_uleb(c);
    cursor data = {c->p, c->p, c->ok};
    if (!take(c, len))
        return false;
    data.end = c->p;
    for (const char *a = ci->aug + 1; *a; a++) {
        if (*a == 'R') {
            ci->fde_enc = get_u8(&data);
        } else if (*a == 'L') {
            ci->lsda_enc = get_u8(&data);
        } else if (*a == 'P') {
            ci->personality_enc = get_u8(&data);
            if (ci->personality_enc == PE_OMIT)
                return false;
            ci->personality = get_encoded(&data, ci->personality_enc & 0x7f);
        } else if (*a != 'S' && *a != 'B' && *a != 'G') {
            return false;
        }
    }
    return data.ok && data.p == data.end;
}

/* A CIE record; `c` covers its body after the CIE id. */
static bool parse_cie(cursor *c, cie_info *ci)
{
    ci->head = c->p;
    uint8_t version = get_u8(c);
    ci->aug = (const char *)c->p;
    const uint8_t *nul = c->ok ? memchr(c->p, 0, (size_t)(c->end - c->p)) : NULL;
    if (!nul || (version != 1 && version != 3 && version != 4))
        return false;
    c->p = nul + 1;
    if (version == 4)
        take(c, 2); /* address size, segment selector size */
    get_uleb(c);    /* code alignment */
    get_sleb(c);    /* data alignment */
    if (version == 1)
        get_u8(c);
    else
        get_uleb(c);
    ci->head_end = c->p;
    ci->fde_enc = PE_ABSPTR;
    ci->lsda_enc = PE_OMIT;
    ci->personality_enc = PE_OMIT;
    ci->z = ci->aug[0] == 'z';
    if (ci->aug[0] && !ci->z)
        return false; /* the old "eh" form, or unknown */
    if (ci->z && !parse_cie_augmentation(c, ci))
        return false;
    ci->insns = c->p;
    ci->end = c->end;
    return c->ok;
}

/* An FDE record; `c` covers its body after the CIE pointer. */
static bool parse_fde(cursor *c, const cie_info *ci, fde_info *fi)
{
    if ((ci->fde_enc & PE_INDIRECT) || ci->fde_enc == PE_OMIT ||
        (ci->lsda_enc != PE_OMIT && (ci->lsda_enc & PE_INDIRECT)))
        return false;
    fi->pc_begin = get_encoded(c, ci->fde_enc);
    fi->pc_range = get_format(c, ci->fde_enc);
    fi->lsda = 0;
    if (ci->z) {
        uint64_t len = get_uleb(c);
        const uint8_t *data = c->p;
        if (ci->lsda_enc != PE_OMIT)
            fi->lsda = get_encoded(c, ci->lsda_enc);
        if (!c->ok || (uint64_t)(c->p - data) != len)
            return false;
    }
    fi->insns = c->p;
    fi->end = c->end;
    return c->ok;
}

/* ------------------------------------------------------------ the section */

typedef struct section {
    const uint8_t *start, *end;
    cie_info *cies; /* in section order, so sorted by offset */
    size_t cie_count, cie_capacity;
    bool nomem;
} section;

static const cie_info *find_cie(const section *s, uint64_t offset)
{
    size_t lo = 0, hi = s->cie_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->cies[mid].offset < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->cie_count && s->cies[lo].offset == offset ? &s->cies[lo]
                                                             : NULL;
}

/* Parse the CIE at `offset` (body in `c`) into the section's list. */
static cie_info *add_cie(section *s, uint64_t offset, cursor *c)
{
    if (s->cie_count == s->cie_capacity) {
        size_t cap = s->cie_capacity ? s->cie_capacity * 2 : 8;
        cie_info *p = realloc(s->cies, cap * sizeof(*p));
        if (!p) {
            s->nomem = true;
            return NULL;
        }
        s->cies = p;
        s->cie_capacity = cap;
    }
    cie_info *ci = &s->cies[s->cie_count];
    ci->offset = offset;
    if (!parse_cie(c, ci))
        return NULL;
    s->cie_count++;
    return ci;
}

/* One record: its offset, body cursor (after the id word) and id. 0 at
 * the terminator, -1 when malformed: also when the section ends before a
 * whole zero word, where libgcc would read on past its end. */
static int next_record(const section *s, uint64_t *offset, cursor *body,
                       uint32_t *id)
{
    cursor c = {s->start + *offset, s->end, true};
    uint32_t len = get_u32(&c);
    if (!c.ok)
        return -1;
    if (len == 0)
        return 0;
    if (len == 0xffffffffu || len < 4 || len > (uint64_t)(c.end - c.p))
        return -1; /* 64-bit lengths are not expected in one link's frames */
    *body = (cursor){c.p + 4, c.p + len, true};
    *id = get_u32(&c);
    *offset += 4 + (uint64_t)len;
    return 1;
}

/* The CIE an FDE at `offset` points back to; its pointer is the distance
 * from the pointer's own field. */
static const cie_info *cie_of(const section *s, uint64_t offset, uint32_t id)
{
    return id <= offset + 4 ? find_cie(s, offset + 4 - id) : NULL;
}

/* Does the section hold an FDE that libgcc would skip although its
 * function exists: PC begin nonzero, but zero in the 2 or 4 bytes its
 * encoding has? Anything not understood counts as no. */
static bool hides_fde(section *s)
{
    uint64_t off = 0, rec;
    cursor body;
    uint32_t id;
    s->cie_count = 0;
    /* FDEs nearly always follow their CIE: remember the last one looked
     * up. Only PC begin is read here; the copy, if one is made, parses
     * every record in full. */
    const cie_info *last = NULL;
    uint64_t last_offset = UINT64_MAX;
    while ((rec = off, next_record(s, &off, &body, &id)) > 0) {
        if (id == 0) {
            if (!add_cie(s, rec, &body))
                return false;
            continue;
        }
        if (id > rec + 4)
            return false;
        uint64_t cie_offset = rec + 4 - id;
        if (cie_offset != last_offset) {
            last = find_cie(s, cie_offset);
            last_offset = cie_offset;
        }
        if (!last || (last->fde_enc & PE_INDIRECT) || last->fde_enc == PE_OMIT)
            return false;
        uint64_t pc_begin = get_encoded(&body, last->fde_enc);
        if (!body.ok)
            return false;
        unsigned size = format_size(last->fde_enc);
        uint64_t mask = size < 8 ? ((uint64_t)1 << (size * 8)) - 1 : ~(uint64_t)0;
        if (size && pc_begin != 0 && (pc_begin & mask) == 0)
            return true;
    }
    return false;
}

/* Step over one call-frame instruction; false for DW_CFA_set_loc and for
 * what is not known. */
static bool skip_instruction(cursor *c)
{
    uint8_t op = get_u8(c);
    switch (op >> 6) {
    case 1: case 3: /* advance_loc, restore: operand in the opcode */
        return c->ok;
    case 2:         /* offset: register in the opcode */
        get_uleb(c);
        return c->ok;
    }
    switch (op) {
    case 0x00: case 0x0a: case 0x0b: case 0x2d: /* nop, remember/restore_state, GNU_window_save */
        break;
    case 0x02: take(c, 1); break; /* advance_loc1 */
    case 0x03: take(c, 2); break; /* advance_loc2 */
    case 0x04: take(c, 4); break; /* advance_loc4 */
    case 0x06: case 0x07: case 0x08: case 0x0d: case 0x0e: case 0x2e:
        get_uleb(c); /* one register or offset */
        break;
    case 0x13: /* def_cfa_offset_sf */
        get_sleb(c);
        break;
    case 0x05: case 0x09: case 0x0c: case 0x14: case 0x2f:
        get_uleb(c);
        get_uleb(c);
        break;
    case 0x11: case 0x12: case 0x15: /* *_sf: register, factored offset */
        get_uleb(c);
        get_sleb(c);
        break;
    case 0x0f: /* def_cfa_expression: block */
        take(c, get_uleb(c));
        break;
    case 0x10: case 0x16: /* expression, val_expression: register, block */
        get_uleb(c);
        take(c, get_uleb(c));
        break;
    default:
        return false;
    }
    return c->ok;
}

static bool instructions_movable(const uint8_t *p, const uint8_t *end)
{
    cursor c = {p, end, true};
    while (c.p < c.end)
        if (!skip_instruction(&c))
            return false;
    return true;
}

/* ---------------------------------------------------------------- writing */

typedef struct out {
    uint8_t *p;
    size_t size, cap;
    bool ok;
} out;

static void put(out *o, const void *src, size_t n)
{
    if (!o->ok)
        return;
    if (o->cap - o->size < n) {
        size_t cap = o->cap ? o->cap : 256;
        while (cap - o->size < n)
            cap *= 2;
        uint8_t *p = realloc(o->p, cap);
        if (!p) {
            o->ok = false;
            return;
        }
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->size, src, n);
    o->size += n;
}

static void put_u8(out *o, uint8_t v) { put(o, &v, 1); }
static void put_u32(out *o, uint32_t v) { put(o, &v, 4); }
static void put_u64(out *o, uint64_t v) { put(o, &v, 8); }

static void put_uleb(out *o, uint64_t v)
{
    do {
        uint8_t b = v & 0x7f;
        v >>= 7;
        put_u8(o, (uint8_t)(b | (v ? 0x80 : 0)));
    } while (v);
}

/* Close the record begun at `start`: DW_CFA_nop to a multiple of 8 bytes,
 * then its length (0xffffffff would announce a 64-bit one). */
static bool end_record(out *o, size_t start)
{
    while (o->ok && (o->size - start) % 8)
        put_u8(o, 0);
    if (!o->ok || o->size - start - 4 >= UINT32_MAX)
        return false;
    uint32_t len = (uint32_t)(o->size - start - 4);
    memcpy(o->p + start, &len, 4);
    return true;
}

static bool write_cie(out *o, cie_info *ci)
{
    if (!instructions_movable(ci->insns, ci->end))
        return false;
    size_t start = o->size;
    ci->new_offset = start;
    put_u32(o, 0);
    put_u32(o, 0); /* CIE id */
    put(o, ci->head, (size_t)(ci->head_end - ci->head));
    if (ci->z) {
        uint8_t data[32];
        size_t n = 0;
        for (const char *a = ci->aug + 1; *a; a++) {
            if (n + 9 > sizeof(data))
                return false; /* letters repeated: not from a compiler */
            if (*a == 'R') {
                data[n++] = PE_ABSPTR;
            } else if (*a == 'L') {
                data[n++] = ci->lsda_enc == PE_OMIT ? PE_OMIT : PE_ABSPTR;
            } else if (*a == 'P') {
                data[n++] = (uint8_t)(PE_ABSPTR | (ci->personality_enc & PE_INDIRECT));
                memcpy(data + n, &ci->personality, 8);
                n += 8;
            }
        }
        put_uleb(o, n);
        put(o, data, n);
    }
    put(o, ci->insns, (size_t)(ci->end - ci->insns));
    return end_record(o, start);
}

static bool write_fde(out *o, const cie_info *ci, const fde_info *fi)
{
    if (!instructions_movable(fi->insns, fi->end))
        return false;
    size_t start = o->size;
    put_u32(o, 0);
    put_u32(o, (uint32_t)(start + 4 - ci->new_offset));
    put_u64(o, fi->pc_begin);
    put_u64(o, fi->pc_range);
    if (ci->z) {
        bool lsda = ci->lsda_enc != PE_OMIT;
        put_uleb(o, lsda ? 8 : 0);
        if (lsda)
            put_u64(o, fi->lsda);
    }
    put(o, fi->insns, (size_t)(fi->end - fi->insns));
    return end_record(o, start);
}

/* The whole section again with 8-byte absolute addresses; false when a
 * record is beyond what is understood here (or memory ran out). */
static bool widen(section *s, out *o)
{
    uint64_t off = 0, rec;
    cursor body;
    uint32_t id;
    int r;
    s->cie_count = 0;
    while ((rec = off, r = next_record(s, &off, &body, &id)) > 0) {
        if (id == 0) {
            cie_info *ci = add_cie(s, rec, &body);
            if (!ci || !write_cie(o, ci))
                return false;
            continue;
        }
        const cie_info *ci = cie_of(s, rec, id);
        fde_info fi;
        if (!ci || !parse_fde(&body, ci, &fi) || !write_fde(o, ci, &fi))
            return false;
    }
    put_u32(o, 0); /* terminator */
    return r == 0 && o->ok;
}

rivet_error *rv_eh_frame_widen_hidden(uint64_t start, uint64_t end,
                                      void **copy)
{
    *copy = NULL;
    section s = {(const uint8_t *)(uintptr_t)start,
                 (const uint8_t *)(uintptr_t)end, NULL, 0, 0, false};
    out o = {NULL, 0, 0, true};
    /* an inverted range holds nothing (and would read as a huge one) */
    if (end >= start && hides_fde(&s) && widen(&s, &o))
        *copy = o.p;
    else
        free(o.p);
    free(s.cies);
    if (s.nomem || !o.ok)
        return rivet_error_create(RIVET_ERR_NOMEM, "out of memory");
    return NULL;
}
