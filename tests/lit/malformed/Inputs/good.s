# The well-formed object every malformed test starts from: .text with a
# PC32 relocation to .data, a symbol table with main and counter.
        .text
        .globl main
main:   movl counter(%rip), %eax
        ret
        .data
        .globl counter
counter:
        .long 0
