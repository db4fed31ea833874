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

``digests(path or bytes)`` -> ``{code: {name: hex}}``, ``code`` the two-letter ID code.
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


# Block headers as numpy records: 24 bytes up to 4.x, 32 bytes from 5.0.
_SMALL_HEAD = np.dtype(
    [("code", "S4"), ("len", "<i4"), ("old", "<u8"), ("sdna", "<i4"), ("nr", "<i4")]
)
_LARGE_HEAD = np.dtype(
    [("code", "S4"), ("sdna", "<i4"), ("old", "<u8"), ("len", "<i8"), ("nr", "<i8")]
)


def _blocks(data: bytes) -> np.ndarray:
    """The header of every block up to ENDB (fields code, sdna, old, len) with its body's
    offset (``body``), as a numpy record array."""
    if data.startswith(b"BLENDER17-01v"):
        offset, head, length_at = 17, _LARGE_HEAD, struct.Struct("<16xq")
    elif data.startswith((b"BLENDER-v", b"BLENDER_v")):
        offset, head, length_at = 12, _SMALL_HEAD, struct.Struct("<4xi")
    else:
        raise BlockFormatError("not an uncompressed little-endian 64-bit .blend file")
    # The walk reads only each block's length; the headers are then read all at once.
    size, end, read = head.itemsize, len(data), length_at.unpack_from
    starts = []
    append = starts.append
    while offset + size <= end:
        append(offset)
        (length,) = read(data, offset)
        if length < 0:
            break
        offset += size + length
    at = np.array(starts, dtype=np.int64)
    raw = np.frombuffer(data, dtype=np.uint8)
    headers = raw[at[:, None] + np.arange(size)].copy().view(head).ravel()
    last = np.flatnonzero(headers["code"] == b"ENDB")
    if not len(last):
        raise BlockFormatError("the file ends before its ENDB block")
    count = int(last[0]) + 1
    out = np.empty(
        count,
        dtype=[("code", "S4"), ("sdna", "<i8"), ("old", "<u8"), ("len", "<i8"), ("body", "<i8")],
    )
    for name in ("code", "sdna", "old", "len"):
        out[name] = headers[name][:count]
    out["body"] = at[:count] + size
    return out


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


def _id_layout(data: bytes, blocks: np.ndarray) -> tuple[dict[int, tuple], tuple[int, int]]:
    """({index of each struct that begins with an ID: (the (offset, size) of its fields zeroed
    before hashing, its texture space fields or None)}, the (offset, size) of ``ID.name``)."""
    found = np.flatnonzero(blocks["code"] == b"DNA1")
    if not len(found):
        raise BlockFormatError("no DNA1 block")
    body, length = int(blocks["body"][found[0]]), int(blocks["len"][found[0]])
    key = hashlib.blake2b(data[body : body + length], digest_size=16).digest()
    if key not in _LAYOUTS:
        _LAYOUTS[key] = _layout(*_catalogue(data, body, length))
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
    unique = unique[unique != 0]  # a null pointer stays null
    if not len(unique):
        return
    first, counts = first[-len(unique) :], counts[-len(unique) :]
    # Most words (floats, ints, zeros) are outside the span of addresses: only the rest is looked up.
    candidates = np.flatnonzero((buffer >= unique[0]) & (buffer <= unique[-1]))
    where = np.searchsorted(unique, buffer[candidates])
    hit = unique[where] == buffer[candidates]
    candidates, where = candidates[hit], where[hit]
    shared = counts[where] > 1
    buffer[candidates[~shared]] = tokens[first[where[~shared]]]
    if not shared.any():
        return
    # A shared address resolves to the block of the pointing datablock's own written from it
    # (the first such block of that datablock), or to one token for "another datablock's".
    rank = np.searchsorted(unique, olds)
    block_rank = np.minimum(rank, len(unique) - 1)
    mine = np.flatnonzero((unique[block_rank] == olds) & (counts[block_rank] > 1))
    keys = (owners[mine].astype(np.uint64) << np.uint64(32)) | rank[mine].astype(np.uint64)
    keys, at = np.unique(keys, return_index=True)
    positions, ranks = candidates[shared], where[shared]
    spans = np.searchsorted(starts, positions, side="right") - 1
    wanted = (spans.astype(np.uint64) << np.uint64(32)) | ranks.astype(np.uint64)
    found = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    match = keys[found] == wanted
    resolved = np.full(len(positions), _token("shared address of another datablock"), np.uint64)
    resolved[match] = tokens[mine[at[found[match]]]]
    buffer[positions] = resolved


def digests(source) -> dict[str, dict[str, str]]:
    """``{two-letter ID code: {datablock name: digest}}`` of every datablock in the file (a path,
    or the file's bytes)."""
    if isinstance(source, bytes | bytearray):
        data = bytes(source)
    else:
        with open(source, "rb") as handle:
            data = handle.read()
    blocks = _blocks(data)
    starts_with_id, (name_offset, name_size) = _id_layout(data, blocks)
    code_bytes = np.ascontiguousarray(blocks["code"]).view(np.uint8).reshape(-1, 4)
    letter = lambda c: ((c >= 65) & (c <= 90)) | ((c >= 97) & (c <= 122))  # noqa: E731
    is_id = (code_bytes[:, 2] == 0) & (code_bytes[:, 3] == 0)
    is_id &= letter(code_bytes[:, 0]) & letter(code_bytes[:, 1])
    is_data = blocks["code"] == b"DATA"
    # A datablock owns the DATA blocks after its ID block up to the next block of another kind
    # (DNA1, TEST, REND, GLOB, USER, ENDB ...: nobody's content).
    opener = is_id | ~is_data
    run = np.cumsum(opener) - 1
    owned = is_data & (run >= 0) & is_id[np.flatnonzero(opener)][np.maximum(run, 0)]
    kept = np.flatnonzero(is_id | owned)
    if not is_id.any():
        return {}
    body = blocks["body"][kept]
    length = blocks["len"][kept]
    sdna = blocks["sdna"][kept]
    # The owned blocks of each datablock, each padded to whole 8-byte words, one after another.
    place = np.zeros(len(kept) + 1, dtype=np.int64)
    np.cumsum((length + 7) // 8 * 8, out=place[1:])
    packed = bytearray(int(place[-1]))
    source = memoryview(data)
    for start, size, at in zip(body.tolist(), length.tolist(), place.tolist(), strict=False):
        packed[at : at + size] = source[start : start + size]
    as_bytes = np.frombuffer(packed, dtype=np.uint8)
    buffer = as_bytes.view("<u8")
    id_rows = np.flatnonzero(is_id[kept])
    owners = np.cumsum(is_id[kept]) - 1  # index into names of each owned block
    ordinals = np.arange(len(kept)) - id_rows[owners]  # its position among its datablock's
    starts = place[id_rows] // 8  # first word of each datablock
    names = []
    for row in id_rows.tolist():
        at, head = int(place[row]) + name_offset, int(body[row]) + name_offset
        name = data[head : head + name_size].split(b"\0", 1)[0]
        names.append(name.decode("utf-8", "surrogateescape"))
        as_bytes[at + len(name) : at + name_size] = 0  # left over from renames
    _zero_volatile(as_bytes, place, sdna, length, starts_with_id, name_offset + name_size)
    # A pointer is the address the pointed-to block had when written, which differs between
    # writes (heap addresses, or positions in the file): it is replaced by what it points to,
    # the datablock's name and the block's position among that datablock's blocks.
    id_tokens = np.array([_token(n) for n in names], dtype=np.uint64)
    with np.errstate(over="ignore"):
        tokens = id_tokens[owners] + ordinals.astype(np.uint64) * _STEP
    _translate(buffer, blocks["old"][kept], tokens, owners, starts)
    out: dict[str, dict[str, str]] = {}
    view = memoryview(packed)
    ends = [*starts[1:].tolist(), len(buffer)]
    for full, first, end in zip(names, starts.tolist(), ends, strict=True):
        digest = hashlib.blake2b(view[first * 8 : end * 8], digest_size=16).hexdigest()
        out.setdefault(full[:2], {})[full[2:]] = digest
    return out


def _zero_volatile(as_bytes, place, sdna, length, starts_with_id, id_size) -> None:
    """Zero the session bookkeeping of every block that begins with an ID (``_VOLATILE``), and
    an automatic texture space (computed at evaluation: not content)."""
    heads = np.flatnonzero(np.isin(sdna, list(starts_with_id)) & (length >= id_size))
    for layout in np.unique(sdna[heads]).tolist():
        volatile, texspace = starts_with_id[layout]
        base = place[heads[sdna[heads] == layout]]
        spans = list(volatile)
        if texspace is not None:
            flag = base + texspace[0]
            auto = (as_bytes[flag] & _TEXSPACE_AUTO) != 0
            as_bytes[flag[auto]] &= ~_TEXSPACE_EVALUATED & 0xFF
            texspace_spans = [(base[auto], offset, size) for offset, size in texspace[1:]]
        else:
            texspace_spans = []
        for bases, offset, size in [(base, o, s) for o, s in spans] + texspace_spans:
            if len(bases) and size:
                as_bytes[(bases[:, None] + np.arange(offset, offset + size)).ravel()] = 0
