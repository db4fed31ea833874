"""How much geometry or pixels one call would build at once, and the refusal above the cap.

A mesh primitive with 100,000 segments and rings, ``vertices.add(10**9)`` or a 100,000 px square
image is one short call, but Blender allocates it in C: under the address-space cap the
allocation fails and Blender crashes (a segfault, not a MemoryError). These calls are sized
before they run, from their arguments: by the AST check where the arguments are constants
(``static``), and at run time by the guarded operators and ``sized_attribute`` (``guarded``,
``runtime``) where they are computed. The cap is the one the modifier estimate uses
(``MAX_ESTIMATED_FACES``, ``geometry``): faces, vertices or pixels, whichever a call builds.

Pure functions of the call's name and arguments (no bpy), so both layers size a call the same way.
"""

from __future__ import annotations

import operator
import weakref
from collections.abc import Callable, Mapping, Sequence

from .rules import refusal
from .state import violation

MAX_ESTIMATED_FACES = 20_000_000  # faces, vertices or pixels one call (or modifier stack) builds

_SMOOTH_ADVICE = (
    "Use a few dozen segments or rings at most (32 x 16 looks smooth); for a smoother surface "
    "add a Subdivision Surface modifier at level 1 or 2."
)
_GRID_ADVICE = "Use fewer subdivisions (a few hundred per side at most) or build it in parts."
_COUNT_ADVICE = "Add fewer elements at once: a few million at most."
_IMAGE_ADVICE = "Make the image smaller (4096 x 4096 at most is plenty for a texture)."


def _ico(subdivisions: int) -> int:
    return 20 * 4 ** min(max(subdivisions - 1, 0), 40)


# operator or bmesh.ops function -> (estimate from its integer arguments, argument defaults,
# positional argument names, advice). Arguments not given take the operator's defaults.
_Estimate = tuple[Callable[..., int], dict[str, int], tuple[str, ...], str]
PRIMITIVES: dict[str, _Estimate] = {
    "mesh.primitive_circle_add": (lambda vertices: vertices, {"vertices": 32}, (), _GRID_ADVICE),
    "mesh.primitive_uv_sphere_add": (
        lambda segments, ring_count: segments * ring_count,
        {"segments": 32, "ring_count": 16},
        (),
        _SMOOTH_ADVICE,
    ),
    "mesh.primitive_ico_sphere_add": (_ico, {"subdivisions": 2}, (), _SMOOTH_ADVICE),
    "mesh.primitive_cylinder_add": (
        lambda vertices: 3 * vertices,
        {"vertices": 32},
        (),
        _SMOOTH_ADVICE,
    ),
    "mesh.primitive_cone_add": (
        lambda vertices: 2 * vertices,
        {"vertices": 32},
        (),
        _SMOOTH_ADVICE,
    ),
    "mesh.primitive_grid_add": (
        lambda x_subdivisions, y_subdivisions: x_subdivisions * y_subdivisions,
        {"x_subdivisions": 10, "y_subdivisions": 10},
        (),
        _GRID_ADVICE,
    ),
    "mesh.primitive_torus_add": (
        lambda major_segments, minor_segments: major_segments * minor_segments,
        {"major_segments": 48, "minor_segments": 12},
        (),
        _SMOOTH_ADVICE,
    ),
    "bmesh.ops.create_grid": (
        lambda x_segments, y_segments: x_segments * y_segments,
        {"x_segments": 1, "y_segments": 1},
        ("bm",),
        _GRID_ADVICE,
    ),
    "bmesh.ops.create_uvsphere": (
        lambda u_segments, v_segments: u_segments * v_segments,
        {"u_segments": 1, "v_segments": 1},
        ("bm",),
        _SMOOTH_ADVICE,
    ),
    "bmesh.ops.create_icosphere": (
        lambda subdivisions: _ico(subdivisions + 1),
        {"subdivisions": 1},
        ("bm",),
        _SMOOTH_ADVICE,
    ),
    "bmesh.ops.create_circle": (lambda segments: segments, {"segments": 1}, ("bm",), _GRID_ADVICE),
    "bmesh.ops.create_cone": (
        lambda segments: 3 * segments,
        {"segments": 1},
        ("bm",),
        _SMOOTH_ADVICE,
    ),
}
# Collections whose ``add(count)`` allocates ``count`` elements (bpy.types class names).
COUNTED_ADD = frozenset(
    {"MeshVertices", "MeshEdges", "MeshPolygons", "MeshLoops", "SplinePoints", "SplineBezierPoints"}
)
# ... by the attribute names they are reached by (the AST check sees only these).
_ADD_NAMES = {
    "MeshVertices": "vertices",
    "MeshEdges": "edges",
    "MeshPolygons": "polygons",
    "MeshLoops": "loops",
    "SplinePoints": "points",
    "SplineBezierPoints": "bezier_points",
}
COUNTED_ADD_ATTRS = frozenset(_ADD_NAMES.values())


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)
    except TypeError:
        pass
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        return int(value)
    return None


def _too_big(what: str, count: int, unit: str, advice: str) -> str:
    return refusal(
        f"{what} (about {count:,} {unit})",
        f"building more than {MAX_ESTIMATED_FACES:,} {unit} in one call would crash or freeze "
        "Blender",
        advice,
    )


def _call_text(name: str, values: Mapping[str, int]) -> str:
    return f"{name}({', '.join(f'{k}={v}' for k, v in values.items())})"


def primitive_refusal(
    name: str, args: Sequence[object] = (), kwargs: Mapping[str, object] | None = None
) -> str | None:
    """The refusal of ``name`` (``"mesh.primitive_uv_sphere_add"``, ``"bmesh.ops.create_grid"``)
    called with these arguments when it would build more than the cap; None when it fits, is
    not sized here, or an argument is not a number (Blender's own error then says so).
    Positional arguments fill the names the function takes positionally; operators take none."""
    entry = PRIMITIVES.get(name)
    if entry is None:
        return None
    estimate, defaults, positional, advice = entry
    given = dict(zip(positional, args, strict=False))
    given.update(kwargs or {})
    values = {}
    for key, default in defaults.items():
        value = _as_int(given[key]) if key in given else default
        if value is None:
            return None
        values[key] = max(value, 0)
    count = estimate(**values)
    if count <= MAX_ESTIMATED_FACES:
        return None
    label = "bpy.ops." + name if not name.startswith("bmesh.") else name
    shown = {k: v for k, v in values.items() if k in given}
    return _too_big(f"a mesh this big from {_call_text(label, shown)}", count, "faces", advice)


def count_refusal(kind: str, count: object) -> str | None:
    """The refusal of ``<kind>.add(count)`` (kind a ``COUNTED_ADD`` class or attribute name)
    above the cap, else None."""
    value = _as_int(count)
    if value is None or value <= MAX_ESTIMATED_FACES:
        return None
    what = f"adding {value:,} {_ADD_NAMES.get(kind, kind)} at once"
    return _too_big(what, value, "elements", _COUNT_ADVICE)


def pydata_refusal(counts: Mapping[str, int]) -> str | None:
    """The refusal of ``mesh.from_pydata`` with this many vertices/edges/faces, else None."""
    worst = max(counts.values(), default=0)
    if worst <= MAX_ESTIMATED_FACES:
        return None
    what = ", ".join(f"{v:,} {k}" for k, v in counts.items() if v)
    return _too_big(f"mesh.from_pydata with {what}", worst, "elements", _COUNT_ADVICE)


def image_refusal(width: object, height: object, what: str = "bpy.data.images.new") -> str | None:
    """The refusal of an image of ``width`` x ``height`` pixels above the cap, else None."""
    w, h = _as_int(width), _as_int(height)
    if w is None or h is None or max(w, 0) * max(h, 0) <= MAX_ESTIMATED_FACES:
        return None
    return _too_big(f"an image of {w:,} x {h:,} px from {what}", w * h, "pixels", _IMAGE_ADVICE)


def image_size_args(args: Sequence[object], kwargs: Mapping[str, object]) -> tuple:
    """(width, height) of ``images.new(name, width, height, ...)`` / ``image.scale(width,
    height)`` from its arguments (``None`` where not given)."""
    offset = 1 if args and isinstance(args[0], str) else 0
    rest = list(args[offset:]) + [None, None]
    return kwargs.get("width", rest[0]), kwargs.get("height", rest[1])


# ----------------------------------------------------------------------------- at run time
def _checked(func: Callable, check: Callable[..., str | None]) -> Callable:
    """``func`` that first asks ``check`` with the same arguments and raises its refusal."""

    def sized(*args, **kwargs):
        problem = check(*args, **kwargs)
        if problem:
            raise violation(problem)
        return func(*args, **kwargs)

    sized.__name__ = getattr(func, "__name__", "sized")
    sized.__doc__ = getattr(func, "__doc__", None)
    _ORIGINALS[sized] = func
    return sized


# What each sized stand-in wraps, for the add-on's own error hints (an attribute on the stand-in
# would be one more way for model code to reach the raw operator).
_ORIGINALS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def unwrap_sized(value: object) -> object:
    """The operator or function a sized stand-in wraps; anything else unchanged."""
    try:
        return _ORIGINALS.get(value, value)
    except TypeError:  # not weakly referenceable: not one of ours
        return value


def _edit_faces() -> int:
    """Faces of the mesh in Edit Mode (as last synced), 0 when none."""
    import bpy

    obj = bpy.context.edit_object
    data = getattr(obj, "data", None)
    return len(getattr(data, "polygons", ()) or ())


def subdivide_refusal(faces: int, number_cuts: object = 1) -> str | None:
    """The refusal of ``bpy.ops.mesh.subdivide(number_cuts=...)`` on a mesh of ``faces`` faces
    above the cap (each face becomes (cuts + 1)^2), else None."""
    cuts = _as_int(number_cuts)
    if cuts is None:
        return None
    count = max(faces, 1) * (max(cuts, 0) + 1) ** 2
    if count <= MAX_ESTIMATED_FACES:
        return None
    return _too_big(
        f"bpy.ops.mesh.subdivide(number_cuts={cuts}) on a mesh of {faces:,} faces",
        count,
        "faces",
        "Use fewer cuts, subdivide only a selection, or add a Subdivision Surface modifier.",
    )


def sized_function(name: str, func: Callable) -> Callable:
    """``func`` (the operator or bmesh.ops function ``name``) sized before each call when
    ``PRIMITIVES`` knows it (and ``mesh.subdivide``, from the mesh in Edit Mode); else ``func``
    itself."""
    if name == "mesh.subdivide":
        return _checked(
            func, lambda *a, **k: subdivide_refusal(_edit_faces(), k.get("number_cuts", 1))
        )
    if name not in PRIMITIVES:
        return func
    return _checked(func, lambda *args, **kwargs: primitive_refusal(name, args, kwargs))


def _pydata_check(vertices=(), edges=(), faces=(), *_rest, **_kw) -> str | None:
    counts = {}
    for key, seq in (("vertices", vertices), ("edges", edges), ("faces", faces)):
        try:
            counts[key] = len(seq)
        except TypeError:
            counts[key] = 0
    return pydata_refusal(counts)


def sized_attribute(obj: object, name: str) -> object:
    """``obj.<name>`` for model code: the methods that allocate in one C call (``add`` of mesh
    and spline elements, ``images.new``, ``Image.scale``, ``Mesh.from_pydata``) come sized,
    anything else as it is. ``compile_guarded`` routes every ``.add``/``.new``/``.scale``/
    ``.from_pydata`` read of model code through here."""
    value = getattr(obj, name)
    try:  # an RNA collection is a bpy_prop_collection; its bl_rna names what it holds
        kind = obj.bl_rna.identifier
    except (AttributeError, ReferenceError):
        kind = type(obj).__name__
    if name == "add" and kind in COUNTED_ADD:
        return _checked(value, lambda count=1, *_a, **_k: count_refusal(kind, count))
    if name == "new" and kind == "BlendDataImages":
        return _checked(
            value, lambda *a, **k: image_refusal(*image_size_args(a, k), "bpy.data.images.new")
        )
    if name == "scale" and kind == "Image" and callable(value):
        return _checked(value, lambda *a, **k: image_refusal(*image_size_args(a, k), "scale"))
    if name == "from_pydata" and kind == "Mesh":
        return _checked(value, _pydata_check)
    return value


SIZED_ATTRIBUTES = frozenset({"add", "new", "scale", "from_pydata"})
SIZED_NAME = "__viga_sized__"  # sized_attribute in the namespace; a name model code may not use
