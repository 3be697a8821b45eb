#!/usr/bin/env python3
"""Generate the synthetic link workload for bench/link.sh.

N translation units, each with F functions that call functions and read
data in other units, and a table of pointers to functions and data of
other units: many cross-object calls (PLT32), data references (PC32 /
GOTPCREL) and absolute pointers (R_X86_64_64). main() walks the tables so
the program also runs and checks itself.
"""
import os
import random
import sys

def unit(i, n, f, rng):
    others = [j for j in range(n) if j != i]
    used_f, used_d, body = set(), set(), []
    body.append(f"long d{i}[8] = {{{', '.join(str(i * 8 + x) for x in range(8))}}};")
    for k in range(f):
        callees = rng.sample(others, min(4, len(others)))
        used_d.update(callees)
        terms = " + ".join(f"d{c}[{(k + c) % 8}]" for c in callees)
        c = callees[0]
        used_f.add((c, k))
        body.append(f"long f{i}_{k}(long x) {{\n    long s = {terms};\n"
                    f"    if (x > 0) s += f{c}_{k}(x - 1);\n    return s + x;\n}}")
    tab = []
    for k in range(f):
        c = others[(i + k) % len(others)]
        used_f.add((c, k))
        used_d.add(c)
        tab.append(f"(void *)f{c}_{k}")
        tab.append(f"(void *)&d{c}[{k % 8}]")
    body.append(f"void *t{i}[] = {{{', '.join(tab)}}};")
    body.append(f"size_t t{i}_len = {len(tab)};")
    decls = [f"/* synthetic unit {i} */", "#include <stddef.h>"]
    decls += [f"extern long d{j}[8];" for j in sorted(used_d)]
    decls += [f"long f{c}_{k}(long);" for c, k in sorted(used_f)]
    return "\n".join(decls + body) + "\n"

def main_unit(n):
    out = ["#include <stdio.h>", "#include <stddef.h>"]
    for j in range(n):
        out.append(f"extern void *t{j}[]; extern size_t t{j}_len; long f{j}_0(long);")
    out.append("int main(void) {\n    unsigned long h = 0;")
    for j in range(n):
        out.append(f"    for (size_t i = 0; i < t{j}_len; i++) h = h * 31 + (t{j}[i] != 0);")
        out.append(f"    h += (unsigned long)f{j}_0(2);")
    out.append('    printf("%lu\\n", h);\n    return 0;\n}')
    return "\n".join(out) + "\n"

def generate(outdir, n, f):
    rng = random.Random(42)
    os.makedirs(outdir, exist_ok=True)
    for i in range(n):
        with open(os.path.join(outdir, f"u{i}.c"), "w") as fh:
            fh.write(unit(i, n, f, rng))
    with open(os.path.join(outdir, "main.c"), "w") as fh:
        fh.write(main_unit(n))

if __name__ == "__main__":
    generate(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
