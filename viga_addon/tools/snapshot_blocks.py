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


def _id_layout(data: bytes, blocks) -> tuple[set[int], tuple[int, int], list[tuple[int, int]]]:
    """(the struct indices that begin with an ID, the (offset, size) of ``ID.name``, the fields
    zeroed before hashing)."""
    dna = next((b for b in blocks if b[0] == b"DNA1"), None)
    if dna is None:
        raise BlockFormatError("no DNA1 block")
    names, types, sizes, structs = _catalogue(data, dna[2], dna[3])
    id_fields = None
    for type_index, fields in structs:
        if types[type_index] == "ID":
            id_fields = _field_offsets(names, types, sizes, fields)
    if id_fields is None or "name" not in id_fields:
        raise BlockFormatError("no ID struct in DNA1")
    starts_with_id = {
        i for i, (_t, fields) in enumerate(structs) if fields and types[fields[0][0]] == "ID"
    }
    volatile = [id_fields[f] for f in _VOLATILE if f in id_fields]
    return starts_with_id, id_fields["name"], volatile


def _token(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def _translate(buffer, olds: list, tokens: list, owners: list, starts: list) -> None:
    """Replace each word of ``buffer`` that is the address of a block by that block's token.

    Blender 5 writes some blocks of every datablock from the same temporary address (custom
    properties ...): such an address means the block of the pointing datablock's own."""
    addresses = np.array(olds, dtype=np.uint64)
    unique, first, counts = np.unique(addresses, return_index=True, return_counts=True)
    values = np.array(tokens, dtype=np.uint64)[first]
    where = np.searchsorted(unique, buffer)
    where[where >= len(unique)] = 0
    hit = (unique[where] == buffer) & (buffer != 0)
    shared = hit & (counts[where] > 1)
    buffer[hit & ~shared] = values[where[hit & ~shared]]
    if not shared.any():
        return
    own = {(owners[i], olds[i]): tokens[i] for i in range(len(olds) - 1, -1, -1)}
    span_of = np.searchsorted(np.array(starts), np.flatnonzero(shared), side="right") - 1
    elsewhere = _token("shared address of another datablock")
    for position, span in zip(np.flatnonzero(shared), span_of, strict=True):
        buffer[position] = own.get((int(span), int(buffer[position])), elsewhere)


def digests(path) -> dict[str, dict[str, str]]:
    """``{two-letter ID code: {datablock name: digest}}`` of every datablock in the file."""
    with open(path, "rb") as handle:
        data = handle.read()
    blocks = _blocks(data)
    starts_with_id, (name_offset, name_size), volatile = _id_layout(data, blocks)
    # The owned blocks of each datablock, each padded to whole 8-byte words, one after another.
    pieces: list[bytes] = []
    spans: list[tuple[str, int, int]] = []  # (full ID name, first word, end word)
    olds: list[int] = []
    tokens: list[int] = []
    owners: list[int] = []  # index into spans of each owned block
    heads: list[int] = []  # word offsets of the blocks that begin with an ID
    words, owner, ordinal = 0, None, 0
    for code, sdna, body, length, old in blocks:
        is_id = code[2:] == b"\0\0" and code[:2] != b"\0\0" and code[:2].isalpha()
        if not is_id and (code != b"DATA" or owner is None):
            owner = None  # DNA1, TEST, REND, GLOB, USER, ENDB ...: nobody's content
            continue
        if is_id:
            raw = data[body + name_offset : body + name_offset + name_size]
            owner = raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            ordinal = 0
            spans.append((owner, words, words))
            tokens.append(_token("ID:" + owner))
        else:
            ordinal += 1
            tokens.append(_token(f"DATA:{owner}:{ordinal}"))
        olds.append(old)
        owners.append(len(spans) - 1)
        if sdna in starts_with_id and length >= name_offset + name_size:
            heads.append(words)
        pad = -length % 8
        pieces.append(data[body : body + length])
        if pad:
            pieces.append(bytes(pad))
        words += (length + pad) // 8
        spans[-1] = (spans[-1][0], spans[-1][1], words)
    buffer = np.frombuffer(bytearray(b"".join(pieces)), dtype="<u8").copy()
    as_bytes = buffer.view(np.uint8)
    for head in heads:
        for offset, size in volatile:
            start = head * 8 + offset
            as_bytes[start : start + size] = 0
    # A pointer is the address the pointed-to block had when written, which differs between
    # writes (heap addresses, or positions in the file): it is replaced by what it points to,
    # the datablock's name or (owner, ordinal) of the data block.
    if olds:
        _translate(buffer, olds, tokens, owners, [start for _n, start, _e in spans])
    out: dict[str, dict[str, str]] = {}
    view = memoryview(buffer.view(np.uint8))
    for full, first, end in spans:
        digest = hashlib.blake2b(view[first * 8 : end * 8], digest_size=16).hexdigest()
        out.setdefault(full[:2], {})[full[2:]] = digest
    return out
