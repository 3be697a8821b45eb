/*
 * arch/x86_64.h — x86-64 edge kinds.
 *
 * Notation follows the x86-64 psABI (section 4.4): S is the target symbol's
 * address, A the addend, P the address of the field being patched, G the
 * address of the target's GOT entry, GOT the address of the link's GOT, L
 * the address of the target's stub (its PLT entry), Z the target's size.
 *
 * Every kind that patches a field narrower than 64 bits checks that the
 * value fits and otherwise fails with RIVET_ERR_RANGE, naming the object,
 * section, offset, symbol and value (see link/fixup.c for the wording).
 */
#ifndef RIVET_ARCH_X86_64_H
#define RIVET_ARCH_X86_64_H

enum rv_x86_64_edge_kind {
    /* S + A, 64 bits.                                  R_X86_64_64 */
    RV_X86_64_POINTER64,
    /* S + A, zero-extended 32 bits: the value must be below 4 GiB, so the
     * object must live in the low 2 GiB (-fno-pic).  R_X86_64_32 */
    RV_X86_64_POINTER32,
    /* S + A, sign-extended 32 bits.                    R_X86_64_32S */
    RV_X86_64_POINTER32_SIGNED,
    /* S + A, 16 / 8 bits, signed or unsigned.         R_X86_64_16, _8 */
    RV_X86_64_POINTER16,
    RV_X86_64_POINTER8,
    /* S + A - P, 64 / 32 / 16 / 8 bits signed.         R_X86_64_PC64, PC32,
     * PC16, PC8. A DELTA32 to a host function out of reach uses its stub
     * (as a non-PIC executable uses the function's PLT entry). */
    RV_X86_64_DELTA64,
    RV_X86_64_DELTA32,
    RV_X86_64_DELTA16,
    RV_X86_64_DELTA8,
    /* S + A - P for a call or jmp, or L + A - P when S is out of reach.
     *                                                  R_X86_64_PLT32 */
    RV_X86_64_BRANCH_PCREL32,
    /* G + A - P, 32 bits.                              R_X86_64_GOTPCREL */
    RV_X86_64_GOT_PCREL32,
    /* G + A - P, or relaxed to S + A - P by rewriting `call *`, `jmp *` or
     * `mov` into a direct call, jmp or lea when S is in reach.
     *                                  R_X86_64_GOTPCRELX, REX_GOTPCRELX */
    RV_X86_64_GOT_PCREL32_RELAXABLE,
    RV_X86_64_GOT_PCREL32_REX_RELAXABLE,
    /* G + A - P, 64 bits.                              R_X86_64_GOTPCREL64 */
    RV_X86_64_GOT_PCREL64,
    /* GOT + A - P, 32 / 64 bits.                       R_X86_64_GOTPC32, GOTPC64 */
    RV_X86_64_GOT_BASE_DELTA32,
    RV_X86_64_GOT_BASE_DELTA64,
    /* S + A - GOT, 64 bits.                            R_X86_64_GOTOFF64 */
    RV_X86_64_GOT_BASE_OFFSET64,
    /* G - GOT + A, 32 / 64 bits.                       R_X86_64_GOT32, GOT64 */
    RV_X86_64_GOT_ENTRY_OFFSET32,
    RV_X86_64_GOT_ENTRY_OFFSET64,
    /* L - GOT + A (S - GOT + A when no stub), 64 bits. R_X86_64_PLTOFF64 */
    RV_X86_64_STUB_OFFSET64,
    /* Z + A, 32 / 64 bits.                             R_X86_64_SIZE32, SIZE64 */
    RV_X86_64_SIZE32,
    RV_X86_64_SIZE64,

    /* Thread-local storage (psABI 4.4 and "ELF Handling For Thread-Local
     * Storage", x86-64). Here S is the target's offset in its TLS module
     * (@dtpoff); rivet's links live in the executor's static TLS arena,
     * whose module base is the thread pointer, so S is also the offset from
     * the thread pointer (@tpoff) -- a negative number. M is the target's
     * module id. G is the address of the TLS GOT entry the edge needs (see
     * link/tls.c): a pair {M, S} for general dynamic, {M, 0} for local
     * dynamic, one word S for initial exec, a descriptor for gnu2.
     * A TLS edge against a symbol that is not thread-local fails with
     * RIVET_ERR_MALFORMED, or RIVET_ERR_UNSUPPORTED when the symbol is the
     * executor's (thread-locals of its libraries cannot be reached), both
     * from link/tls.c; 32-bit fields fail with RIVET_ERR_RANGE.
     * R_X86_64_TLSDESC_CALL is dropped: it only marks the descriptor call. */
    /* G + A - P, 32 bits: `lea x@tlsgd(%rip), %rdi`.   R_X86_64_TLSGD */
    RV_X86_64_TLS_GD_PAIR_PCREL32,
    /* G + A - P, 32 bits: `lea x@tlsld(%rip), %rdi`.   R_X86_64_TLSLD */
    RV_X86_64_TLS_LD_PAIR_PCREL32,
    /* S + A, 32 / 64 bits: offset in the module.       R_X86_64_DTPOFF32, 64 */
    RV_X86_64_TLS_DTPOFF32,
    RV_X86_64_TLS_DTPOFF64,
    /* G + A - P, 32 bits: `mov x@gottpoff(%rip), %reg`. R_X86_64_GOTTPOFF */
    RV_X86_64_TLS_GOT_TPOFF_PCREL32,
    /* S + A, 32 bits signed / 64 bits: offset from the thread pointer
     * (`%fs:x@tpoff`).                                 R_X86_64_TPOFF32, 64 */
    RV_X86_64_TLS_TPOFF32,
    RV_X86_64_TLS_TPOFF64,
    /* M, 64 bits.                                      R_X86_64_DTPMOD64 */
    RV_X86_64_TLS_MODULE64,
    /* G + A - P, 32 bits: `lea x@tlsdesc(%rip), %rax` (-mtls-dialect=gnu2).
     *                                          R_X86_64_GOTPC32_TLSDESC */
    RV_X86_64_TLS_DESC_PCREL32,
    RV_X86_64_EDGE_KIND_COUNT
};

#endif
