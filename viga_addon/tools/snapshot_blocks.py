"""Per-datablock digests of a .blend file: what tells a restore which datablocks changed.

A .blend file is a sequence of blocks; a datablock is written as its ID block (a two-letter
code such as ``OB``, ``ME``, ``MA``) followed by the DATA blocks of everything it owns (custom
properties, constraints, modifiers, material slots, an embedded node tree with its nodes and
links, mesh arrays, animation data ...). The digest of a datablock is the hash of those bytes,
so it covers exactly what a restore would bring back from the file: two writes of an unchanged
datablock give the same digest, and any change to it (a value, a custom property, a pointer to
another datablock, a renamed one) gives another.

The ID header's session bookkeeping differs between writes of an unchanged datablock and is
zeroed before hashing (``_VOLATILE``): ``session_uid`` (a fresh one for each temporary copy of an
embedded node tree), the user count ``us`` (another datablock starting to use it changes
nothing of its own), the Python wrapper ``py_instance``, the list neighbours ``next`` / ``prev``,
update tags. Other pointers are memory addresses: one that moved without a change of content
only makes a datablock count as changed (it is then brought back needlessly, never missed). Their offsets
come from the file's own struct catalogue (the DNA1 block), so the format of each Blender
version is read as that version wrote it (12-byte header and 24-byte block headers up to 4.x,
17-byte header and 32-byte block headers from 5.0). Compressed files are not read (snapshots
are written uncompressed).

``digests(path)`` -> ``{code: {name: hex}}``, ``code`` the two-letter ID code.
"""

from __future__ import annotations

import hashlib
import re
import struct

import numpy as np

_SMALL = struct.Struct("<4siQii")  # code, len, old, sdna, nr
_LARGE = struct.Struct("<4siQqq")  # code, sdna, old, len, nr
_ARRAY = re.compile(r"\[(\d+)\]")
# ID fields that are the session's bookkeeping, not content: zeroed before hashing.
_VOLATILE = (
    "next",
    "prev",
    "newid",
    "orig_id",
    "py_instance",
    "session_uid",
    "us",
    "tag",
    "icon_id",
    "recalc",
    "recalc_up_to_undo_push",
    "recalc_after_undo_push",
    "runtime",
)
# Per struct type, fields derived from elsewhere and synced at evaluation (the object's base
# flags follow the view layer, which the snapshot payload restores itself; the constraint
# inverse is recomputed from the constraints).
_VOLATILE_OF = {"Object": ("base_flag", "base_local_view_bits", "constinv")}
_TEXSPACE_AUTO, _TEXSPACE_EVALUATED = 1, 2  # texflag bits of meshes, curves and metaballs


class BlockFormatError(ValueError):
    """The file is not an uncompressed .blend this reader understands."""


def _blocks(data: bytes) -> list[tuple[bytes, int, int, int, int]]:
    """``(code, sdna index, body offset, body length, old address)`` of every block up to
    ENDB."""
    if data.startswith(b"BLENDER17-01v"):
        offset, head, large = 17, _LARGE, True
    elif data.startswith((b"BLENDER-v", b"BLENDER_v")):
        offset, head, large = 12, _SMALL, False
    else:
        raise BlockFormatError("not an uncompressed little-endian 64-bit .blend file")
    unpack, size, end = head.unpack_from, head.size, len(data)
    out = []
    while offset + size <= end:
        if large:
            code, sdna, old, length, _nr = unpack(data, offset)
        else:
            code, length, old, sdna, _nr = unpack(data, offset)
        body = offset + size
        out.append((code, sdna, body, length, old))
        if code == b"ENDB":
            return out
        offset = body + length
    raise BlockFormatError("the file ends before its ENDB block")


def _catalogue(data: bytes, body: int, length: int) -> tuple[list, list, tuple, list]:
    """Names, type names, type sizes and structs (type, [(field type, field name)]) of DNA1."""
    view = data[body : body + length]
    pos = 0

    def expect(tag: bytes) -> None:
        nonlocal pos
        pos = (pos + 3) & ~3
        if view[pos : pos + 4] != tag:
            raise BlockFormatError(f"DNA1 block without {tag!r}")
        pos += 4

    def count() -> int:
        nonlocal pos
        (value,) = struct.unpack_from("<i", view, pos)
        pos += 4
        return value

    def strings(n: int) -> list[str]:
        nonlocal pos
        out = []
        for _ in range(n):
            end = view.index(b"\0", pos)
            out.append(view[pos:end].decode("ascii", "replace"))
            pos = end + 1
        return out

    expect(b"SDNA")
    expect(b"NAME")
    names = strings(count())
    expect(b"TYPE")
    types = strings(count())
    expect(b"TLEN")
    sizes = struct.unpack_from(f"<{len(types)}h", view, pos)
    pos += 2 * len(types)
    expect(b"STRC")
    structs = []
    for _ in range(count()):
        type_index, fields = struct.unpack_from("<hh", view, pos)
        pairs = struct.unpack_from(f"<{2 * fields}h", view, pos + 4)
        pos += 4 + 4 * fields
        structs.append((type_index, list(zip(pairs[::2], pairs[1::2], strict=True))))
    return names, types, sizes, structs


def _field_offsets(names, types, sizes, fields) -> dict[str, tuple[int, int]]:
    """``{field: (offset, size)}`` of one struct."""
    out, offset = {}, 0
    for type_index, name_index in fields:
        name = names[name_index]
        size = 8 if name.startswith(("*", "(*")) else sizes[type_index]
        for dim in _ARRAY.findall(name):
            size *= int(dim)
        out[re.sub(r"\[.*", "", name).lstrip("*(")] = (offset, size)
        offset += size
    return out


def _id_layout(data: bytes, blocks) -> tuple[dict[int, tuple], tuple[int, int]]:
    """({index of each struct that begins with an ID: (the (offset, size) of its fields zeroed
    before hashing, its texture space fields or None)}, the (offset, size) of ``ID.name``)."""
    dna = next((b for b in blocks if b[0] == b"DNA1"), None)
    if dna is None:
        raise BlockFormatError("no DNA1 block")
    key = hashlib.blake2b(data[dna[2] : dna[2] + dna[3]], digest_size=16).digest()
    if key not in _LAYOUTS:
        _LAYOUTS[key] = _layout(*_catalogue(data, dna[2], dna[3]))
    return _LAYOUTS[key]


_LAYOUTS: dict[bytes, tuple] = {}  # by DNA1 digest: one per Blender version in practice


def _layout(names, types, sizes, structs) -> tuple[dict[int, tuple], tuple[int, int]]:
    id_fields = None
    for type_index, fields in structs:
        if types[type_index] == "ID":
            id_fields = _field_offsets(names, types, sizes, fields)
    if id_fields is None or "name" not in id_fields:
        raise BlockFormatError("no ID struct in DNA1")
    volatile = [id_fields[f] for f in _VOLATILE if f in id_fields]
    starts_with_id = {}
    for i, (type_index, fields) in enumerate(structs):
        if fields and types[fields[0][0]] == "ID":
            offsets = _field_offsets(names, types, sizes, fields)
            own = [offsets[f] for f in _VOLATILE_OF.get(types[type_index], ()) if f in offsets]
            texspace = None
            if all(f in offsets for f in ("texflag", "loc", "size")):
                texspace = (offsets["texflag"][0], offsets["loc"], offsets["size"])
            starts_with_id[i] = (volatile + own, texspace)
    return starts_with_id, id_fields["name"]


_STEP = np.uint64(0x9E3779B97F4A7C15)  # spreads a block's position over the word


def _token(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def _translate(buffer, olds, tokens, owners, starts) -> None:
    """Replace each word of ``buffer`` that is the address of a block by that block's token.

    Blender 5 writes some blocks of every datablock from the same temporary address (custom
    properties ...): such an address means the block of the pointing datablock's own."""
    unique, first, counts = np.unique(olds, return_index=True, return_counts=True)
    values = tokens[first]
    where = np.searchsorted(unique, buffer)
    where[where >= len(unique)] = 0
    hit = (unique[where] == buffer) & (buffer != 0)
    shared = hit & (counts[where] > 1)
    plain = hit & ~shared
    buffer[plain] = values[where[plain]]
    if not shared.any():
        return
    is_shared = counts[np.searchsorted(unique, olds)] > 1
    own = {}
    for i in np.flatnonzero(is_shared)[::-1]:
        own[(int(owners[i]), int(olds[i]))] = tokens[i]
    positions = np.flatnonzero(shared)
    span_of = np.searchsorted(starts, positions, side="right") - 1
    elsewhere = _token("shared address of another datablock")
    for position, span in zip(positions, span_of, strict=True):
        buffer[position] = own.get((int(span), int(buffer[position])), elsewhere)


def digests(path) -> dict[str, dict[str, str]]:
    """``{two-letter ID code: {datablock name: digest}}`` of every datablock in the file."""
    with open(path, "rb") as handle:
        data = handle.read()
    blocks = _blocks(data)
    starts_with_id, (name_offset, name_size) = _id_layout(data, blocks)
    # The owned blocks of each datablock, each padded to whole 8-byte words, one after another.
    pieces: list[bytes] = []
    names: list[str] = []
    starts: list[int] = []  # first word of each datablock
    olds: list[int] = []
    owners: list[int] = []  # index into names of each owned block
    ordinals: list[int] = []  # position of each owned block among its datablock's
    heads: list[tuple[int, tuple]] = []  # blocks that begin with an ID: (word, what to zero)
    tails: list[tuple[int, int]] = []  # what follows each name's end: left over from renames
    words, owned, ordinal = 0, False, 0
    for code, sdna, body, length, old in blocks:
        is_id = code[2:] == b"\0\0" and code[:2] != b"\0\0" and code[:2].isalpha()
        if not is_id and (code != b"DATA" or not owned):
            owned = False  # DNA1, TEST, REND, GLOB, USER, ENDB ...: nobody's content
            continue
        if is_id:
            raw = data[body + name_offset : body + name_offset + name_size]
            name = raw.split(b"\0", 1)[0]
            names.append(name.decode("utf-8", "surrogateescape"))
            tails.append((words * 8 + name_offset + len(name), name_size - len(name)))
            starts.append(words)
            owned, ordinal = True, 0
        else:
            ordinal += 1
        olds.append(old)
        owners.append(len(names) - 1)
        ordinals.append(ordinal)
        if sdna in starts_with_id and length >= name_offset + name_size:
            heads.append((words, starts_with_id[sdna]))
        pieces.append(data[body : body + length])
        pad = -length % 8
        if pad:
            pieces.append(bytes(pad))
        words += (length + pad) // 8
    buffer = np.frombuffer(bytearray(b"".join(pieces)), dtype="<u8").copy()
    as_bytes = buffer.view(np.uint8)
    for start, size in tails:
        as_bytes[start : start + size] = 0
    for head, (volatile, texspace) in heads:
        base = head * 8
        for offset, size in volatile:
            as_bytes[base + offset : base + offset + size] = 0
        if texspace is not None and as_bytes[base + texspace[0]] & _TEXSPACE_AUTO:
            # An automatic texture space is computed at evaluation: not content.
            as_bytes[base + texspace[0]] &= ~_TEXSPACE_EVALUATED & 0xFF
            for offset, size in texspace[1:]:
                as_bytes[base + offset : base + offset + size] = 0
    # A pointer is the address the pointed-to block had when written, which differs between
    # writes (heap addresses, or positions in the file): it is replaced by what it points to,
    # the datablock's name and the block's position among that datablock's blocks.
    if olds:
        id_tokens = np.array([_token(n) for n in names], dtype=np.uint64)
        owner_array = np.array(owners, dtype=np.int64)
        with np.errstate(over="ignore"):
            tokens = id_tokens[owner_array] + np.array(ordinals, dtype=np.uint64) * _STEP
        _translate(buffer, np.array(olds, dtype=np.uint64), tokens, owner_array, np.array(starts))
    out: dict[str, dict[str, str]] = {}
    view = memoryview(buffer.view(np.uint8))
    ends = starts[1:] + [words]
    for full, first, end in zip(names, starts, ends, strict=True):
        digest = hashlib.blake2b(view[first * 8 : end * 8], digest_size=16).hexdigest()
        out.setdefault(full[:2], {})[full[2:]] = digest
    return out
