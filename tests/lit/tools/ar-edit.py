#!/usr/bin/env python3
"""ar-edit.py IN OUT EDIT... — copy an `ar` archive, patching member headers.

Members are named by their position in the file, counting the special ones
(the symbol index "/", the long-name table "//", "__.SYMDEF"), as `#N`, or
by the raw 16-byte name field with trailing blanks removed (`b.o/`, `/`,
`//`, `/0`, `#1/12`) or a BSD long name (`__.SYMDEF`). Edits:

  member:M:FIELD=TEXT     set a header field (name, date, uid, gid, mode,
                          size, fmag) to TEXT, blank-padded to the field's
                          width (TEXT longer than the field is an error)
  member:M:cut=K          cut the file K bytes into member M's header
  member:M:be32+K=V       write V as a 32-bit big-endian word at byte K of
  member:M:le32+K=V       member M's data, which for a BSD long name starts
                          with the name (V in any Python int syntax)
  truncate=SIZE           cut the file to SIZE bytes
  sym64                   rewrite the GNU "/" symbol index as a 64-bit
                          "/SYM64/" index (what ar writes past 4 GiB);
                          must come first
  list                    print "#N OFFSET NAME SIZE [BSD-LONG-NAME]" per
                          member (OUT may be -)

Members are located before any edit is applied.
"""
import sys

FIELDS = {  # name: (offset in the 60-byte header, width)
    'name': (0, 16), 'date': (16, 12), 'uid': (28, 6), 'gid': (34, 6),
    'mode': (40, 8), 'size': (48, 10), 'fmag': (58, 2),
}


def die(msg):
    sys.exit('ar-edit.py: ' + msg)


def members(data):
    if data[:8] not in (b'!<arch>\n', b'!<thin>\n'):
        die('not an ar archive')
    thin = data[:8] == b'!<thin>\n'
    out, off = [], 8
    while off + 60 <= len(data):
        hdr = data[off:off + 60]
        name = hdr[0:16].decode('latin-1').rstrip(' ')
        size = int(hdr[48:58].decode('latin-1').strip() or '0')
        real = name
        if name.startswith('#1/') and name[3:].isdigit():  # BSD long name
            n = int(name[3:])
            real = data[off + 60:off + 60 + n].rstrip(b'\0').decode('latin-1')
        out.append((off, name, size, real))
        special = name in ('/', '//', '/SYM64/') or real.startswith('__.SYMDEF')
        stored = size if (not thin or special) else 0
        off += 60 + stored + (stored & 1)
    return out


def find(ms, key):
    if key.startswith('#'):
        i = int(key[1:])
        if i >= len(ms):
            die('no member %s (%d members)' % (key, len(ms)))
        return ms[i]
    for m in ms:
        if key in (m[1], m[3]):
            return m
    die('no member named %r (have %s)' % (key, ', '.join(m[1] for m in ms)))


def to_sym64(data):
    off, name, size, _ = members(data)[0]
    if name != '/':
        die('sym64: the first member is %r, not a GNU index "/"' % name)
    body = bytes(data[off + 60:off + 60 + size])
    n = int.from_bytes(body[0:4], 'big')
    offs = [int.from_bytes(body[4 + 4 * i:8 + 4 * i], 'big') for i in range(n)]
    names = body[4 + 4 * n:]
    new_size = 8 + 8 * n + len(names)
    delta = (new_size + (new_size & 1)) - (size + (size & 1))
    new = n.to_bytes(8, 'big') + b''.join(
        (o + delta).to_bytes(8, 'big') for o in offs) + names
    if new_size & 1:
        new += b'\n'
    hdr = bytearray(data[off:off + 60])
    hdr[0:16] = b'/SYM64/'.ljust(16)
    hdr[48:58] = str(new_size).encode().ljust(10)
    rest = data[off + 60 + size + (size & 1):]
    return bytearray(data[:off]) + hdr + new + rest


def main(argv):
    if len(argv) < 3:
        die('usage: ar-edit.py IN OUT EDIT...')
    data = bytearray(open(argv[1], 'rb').read())
    ms = members(data)
    cut = None
    for edit in argv[3:]:
        if edit == 'list':
            for i, (off, name, size, real) in enumerate(ms):
                print('#%d 0x%x %s %d%s' % (i, off, name, size,
                                            '' if real == name else ' ' + real))
            continue
        if edit == 'sym64':
            data = to_sym64(data)
            ms = members(data)
            continue
        if edit.startswith('truncate='):
            cut = int(edit.split('=', 1)[1], 0)
            continue
        if not edit.startswith('member:'):
            die('unknown edit %r' % edit)
        _, rest = edit.split(':', 1)
        key, _, assign = rest.rpartition(':')
        field, _, text = assign.partition('=')
        off = find(ms, key)[0]
        if field == 'cut':
            cut = off + int(text, 0)
            continue
        if field[:5] in ('be32+', 'le32+'):
            at = off + 60 + int(field[5:], 0)
            data[at:at + 4] = (int(text, 0) & 0xffffffff).to_bytes(
                4, 'big' if field[0] == 'b' else 'little')
            continue
        if field not in FIELDS:
            die('unknown field %r' % field)
        foff, width = FIELDS[field]
        raw = text.encode('latin-1').decode('unicode_escape').encode('latin-1')
        if len(raw) > width:
            die('%r does not fit the %d-byte %s field' % (text, width, field))
        data[off + foff:off + foff + width] = raw.ljust(width, b' ')
    if cut is not None:
        del data[cut:]
    if argv[2] != '-':
        open(argv[2], 'wb').write(data)


if __name__ == '__main__':
    main(sys.argv)
