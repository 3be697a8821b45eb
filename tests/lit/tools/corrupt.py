#!/usr/bin/env python3
"""corrupt.py IN OUT EDIT... — copy an ELF64 little-endian file, patching fields.

Every edit names the field by its ELF name, so a test says what it breaks:

  ehdr:FIELD=VALUE              ELF header (e_ident bytes as ei_mag0..3,
                                ei_class, ei_data, ei_version, ei_osabi)
  shdr:SECTION:FIELD=VALUE      section header; SECTION is a name (.text)
                                or #INDEX
  sym:NAME:FIELD=VALUE          .symtab entry with that name (or #INDEX)
  rela:SECTION:N:FIELD=VALUE    Nth entry of a SHT_RELA section; fields
                                r_offset, r_info, r_sym, r_type, r_addend
  byte:OFFSET=VALUE             one byte of the file (OFFSET an expression)
  truncate=SIZE                 cut the file to SIZE bytes

VALUE is a Python expression over: filesize, old (the field's value),
size/offset (the section's sh_size/sh_offset for shdr and rela edits), and
@SECTION:FIELD (a field of another section header, e.g. @.text:sh_offset).
Sections, symbols and @ references are read before any edit is applied.
"""
import re
import struct
import sys

EHDR = {  # name: (offset, struct format)
    'ei_mag0': (0, 'B'), 'ei_mag1': (1, 'B'), 'ei_mag2': (2, 'B'),
    'ei_mag3': (3, 'B'), 'ei_class': (4, 'B'), 'ei_data': (5, 'B'),
    'ei_version': (6, 'B'), 'ei_osabi': (7, 'B'),
    'e_type': (16, 'H'), 'e_machine': (18, 'H'), 'e_version': (20, 'I'),
    'e_entry': (24, 'Q'), 'e_phoff': (32, 'Q'), 'e_shoff': (40, 'Q'),
    'e_flags': (48, 'I'), 'e_ehsize': (52, 'H'), 'e_phentsize': (54, 'H'),
    'e_phnum': (56, 'H'), 'e_shentsize': (58, 'H'), 'e_shnum': (60, 'H'),
    'e_shstrndx': (62, 'H'),
}
SHDR = {
    'sh_name': (0, 'I'), 'sh_type': (4, 'I'), 'sh_flags': (8, 'Q'),
    'sh_addr': (16, 'Q'), 'sh_offset': (24, 'Q'), 'sh_size': (32, 'Q'),
    'sh_link': (40, 'I'), 'sh_info': (44, 'I'), 'sh_addralign': (48, 'Q'),
    'sh_entsize': (56, 'Q'),
}
SYM = {
    'st_name': (0, 'I'), 'st_info': (4, 'B'), 'st_other': (5, 'B'),
    'st_shndx': (6, 'H'), 'st_value': (8, 'Q'), 'st_size': (16, 'Q'),
}
RELA = {
    'r_offset': (0, 'Q'), 'r_info': (8, 'Q'), 'r_type': (8, 'I'),
    'r_sym': (12, 'I'), 'r_addend': (16, 'q'),
}


def die(msg):
    sys.exit('corrupt.py: ' + msg)


def u(fmt, buf, off):
    return struct.unpack_from('<' + fmt, buf, off)[0]


class Elf:
    def __init__(self, data):
        if data[:4] != b'\x7fELF' or data[4] != 2 or data[5] != 1:
            die('input is not an ELF64 little-endian file')
        self.data = data
        self.shoff = u('Q', data, 40)
        self.shnum = u('H', data, 60)
        shstrndx = u('H', data, 62)
        self.shdrs = [self.shoff + 64 * i for i in range(self.shnum)]
        strtab = self.field(self.shdrs[shstrndx], SHDR, 'sh_offset')
        self.names = {}
        for i, h in enumerate(self.shdrs):
            self.names.setdefault(self.cstr(strtab + u('I', data, h)), i)

    def cstr(self, off):
        end = self.data.index(b'\0', off)
        return self.data[off:end].decode()

    def field(self, base, table, name):
        off, fmt = table[name]
        return u(fmt, self.data, base + off)

    def section(self, spec):
        if spec.startswith('#'):
            return int(spec[1:])
        if spec not in self.names:
            die('no section %r' % spec)
        return self.names[spec]

    def symbol(self, spec):
        symtab = [i for i, h in enumerate(self.shdrs)
                  if self.field(h, SHDR, 'sh_type') == 2][0]
        h = self.shdrs[symtab]
        off = self.field(h, SHDR, 'sh_offset')
        count = self.field(h, SHDR, 'sh_size') // 24
        if spec.startswith('#'):
            return off + 24 * int(spec[1:]), h
        strtab = self.field(self.shdrs[self.field(h, SHDR, 'sh_link')],
                            SHDR, 'sh_offset')
        for i in range(count):
            e = off + 24 * i
            if self.cstr(strtab + u('I', self.data, e)) == spec:
                return e, h
        die('no symbol %r' % spec)


def main(argv):
    if len(argv) < 3:
        die('usage: corrupt.py IN OUT EDIT...')
    data = bytearray(open(argv[1], 'rb').read())
    elf = Elf(bytes(data))
    plan, truncate = [], None
    for edit in argv[3:]:
        edit = re.sub(r'@([^:\s]+):(sh_\w+)',
                      lambda m: str(elf.field(elf.shdrs[elf.section(m[1])],
                                              SHDR, m[2])), edit)
        lhs, _, value = edit.partition('=')
        parts = lhs.split(':')
        env = {'filesize': len(data)}
        if parts[0] == 'truncate':
            truncate = value
            continue
        if parts[0] == 'ehdr':
            base, table, fname = 0, EHDR, parts[1]
        elif parts[0] == 'shdr':
            base = elf.shdrs[elf.section(parts[1])]
            table, fname = SHDR, parts[2]
        elif parts[0] == 'sym':
            base, h = elf.symbol(parts[1])
            table, fname = SYM, parts[2]
        elif parts[0] == 'rela':
            h = elf.shdrs[elf.section(parts[1])]
            base = elf.field(h, SHDR, 'sh_offset') + 24 * int(parts[2])
            table, fname = RELA, parts[3]
        elif parts[0] == 'byte':
            base, table, fname = eval(parts[1], {}, {}), {'b': (0, 'B')}, 'b'
        else:
            die('bad edit %r' % edit)
        if parts[0] in ('shdr', 'rela'):
            env['size'] = elf.field(h if parts[0] == 'rela' else base,
                                    SHDR, 'sh_size')
            env['offset'] = elf.field(h if parts[0] == 'rela' else base,
                                      SHDR, 'sh_offset')
        if fname not in table:
            die('unknown field %r in %r' % (fname, edit))
        off, fmt = table[fname]
        env['old'] = u(fmt, data, base + off)
        plan.append((base + off, fmt, value, env))
    for pos, fmt, value, env in plan:
        v = eval(value, {}, env)
        if fmt.isupper() or fmt == 'B':  # unsigned: wrap like C would
            v &= (1 << (8 * struct.calcsize(fmt))) - 1
        struct.pack_into('<' + fmt, data, pos, v)
    if truncate is not None:
        del data[eval(truncate, {}, {'filesize': len(data)}):]
    open(argv[2], 'wb').write(data)


if __name__ == '__main__':
    main(sys.argv)
