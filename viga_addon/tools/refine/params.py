"""Scene parameters the refiner can tune, addressed by name, and the group presets.

Names (NAME is an object name; for materials a material name):
  light:NAME.energy | .color | .rotation | .location
  world.color | world.strength | exposure
  material:NAME.base_color | .roughness | .metallic
  object:NAME.location | .rotation | .scale
  camera.location | camera.rotation | camera.lens        (the scene camera)
Groups: lighting | material | placement | camera, optionally limited to some objects.

Every parameter is a short vector of floats with a getter and a setter, plus an internal
coordinate (log for strengths, scales and focal length; clipped to [0, 1] for colours and
factors) in which the optimiser takes its steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import bpy

GROUPS = ("lighting", "material", "placement", "camera")
DIRECTIONAL_LIGHTS = {"SUN", "SPOT", "AREA"}
GEOMETRY_TYPES = {"MESH", "CURVE", "SURFACE", "META", "FONT"}
_EULER_MODES = {"XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX"}


class RefineError(ValueError):
    """Bad input for the refiner; the message says what to change. The scene is untouched."""


@dataclass
class Param:
    """One named parameter: ``get()``/``set(values)`` on the live scene, ``size`` floats."""

    name: str
    group: str
    size: int
    get: Callable[[], list[float]]
    set: Callable[[list[float]], None]
    kind: str  # "log" (positive, stepped in log space), "unit" (clipped to [0, 1]), "linear"
    step: float  # initial step in internal coordinates
    role: str = ""  # "intensity" | "light_color" | "base_color" | ""
    low: float = -math.inf  # bounds in internal coordinates
    high: float = math.inf
    material: str | None = None
    # Search directions within this parameter, as (vector of ``size`` floats, initial step,
    # primary); empty means its own axes with ``step``, all primary. The search tries primary
    # directions alone first (the big, well-separated effects), then all.
    directions: list[tuple[list[float], float, bool]] = field(default_factory=list)

    def to_internal(self, values: Sequence[float]) -> list[float]:
        if self.kind == "log":
            return [math.log(max(float(v), 1e-6)) for v in values]
        return [float(v) for v in values]

    def from_internal(self, coords: Sequence[float]) -> list[float]:
        if self.kind == "log":
            return [math.exp(min(c, 30.0)) for c in coords]
        if self.kind == "unit":
            return [min(1.0, max(0.0, c)) for c in coords]
        return list(coords)


# ----------------------------------------------------------------------------- accessors
def _vector_param(name, group, owner, attr, kind, step, role="", **kw):
    size = len(getattr(owner, attr))

    def get():
        return list(getattr(owner, attr))

    def set_(values):
        setattr(owner, attr, values)

    low, high = (0.0, 1.0) if kind == "unit" else (-math.inf, math.inf)
    return Param(name, group, size, get, set_, kind, step, role, low, high, **kw)


def _scalar_param(
    name, group, owner, attr, kind, step, role="", low=-math.inf, high=math.inf, **kw
):
    def get():
        return [float(getattr(owner, attr))]

    def set_(values):
        setattr(owner, attr, float(values[0]))

    if kind == "unit":
        low, high = 0.0, 1.0
    return Param(name, group, 1, get, set_, kind, step, role, low, high, **kw)


def _socket_param(name, group, socket, kind, step, role="", channels=None, **kw):
    """A node socket's default value: all of it (scalar) or its first ``channels`` entries."""
    if channels is None:

        def get():
            return [float(socket.default_value)]

        def set_(values):
            socket.default_value = float(values[0])

        size = 1
    else:

        def get():
            return [float(v) for v in socket.default_value[:channels]]

        def set_(values):
            current = list(socket.default_value)
            current[:channels] = values
            socket.default_value = current

        size = channels
    low, high = (0.0, 1.0) if kind == "unit" else (-math.inf, math.inf)
    return Param(name, group, size, get, set_, kind, step, role, low, high, **kw)


def scene_radius(scene: bpy.types.Scene) -> float:
    """Half the diagonal of the visible geometry's bounding box (1.0 for an empty scene)."""
    from ..render.engine import visible_geometry, world_bounds

    bounds = world_bounds(visible_geometry(scene))
    return float(bounds[1]) if bounds else 1.0


def _view_directions(scene, step):
    """Moves along the camera's right, up and viewing axes: right/up shift the object in the
    image, depth changes its size there, so the search sees each effect on its own."""
    cam = scene.camera
    if cam is None:
        return []
    m = cam.matrix_world.to_3x3().normalized()
    right, up, back = (list(m.col[i]) for i in range(3))
    return [(right, step, True), (up, step, True), (back, 2.0 * step, True)]


def _axis(i):
    return [1.0 if i == j else 0.0 for j in range(3)]


def _euler_check(obj, name):
    if obj.rotation_mode not in _EULER_MODES:
        raise RefineError(
            f"{name}: object {obj.name!r} uses rotation mode {obj.rotation_mode}; "
            "the refiner tunes Euler rotations only. Set its rotation mode to XYZ "
            "Euler first."
        )


# ----------------------------------------------------------------------------- resolve one name
def resolve(name: str, scene: bpy.types.Scene) -> Param:
    """The Param for one name, or RefineError saying what exists instead."""
    name = name.strip()
    if name == "exposure":
        return _scalar_param(
            name,
            "lighting",
            scene.view_settings,
            "exposure",
            "linear",
            0.5,
            role="intensity",
            low=-10.0,
            high=10.0,
        )
    if name in ("world.color", "world.strength"):
        return _world_param(name, scene)
    if name.startswith("camera."):
        return _camera_param(name, scene)
    kind, sep, rest = name.partition(":")
    target, dot, attr = rest.rpartition(".")
    if not sep or not dot or not target:
        raise RefineError(
            f"Unknown parameter {name!r}. Use e.g. light:Sun.energy, world.color, "
            "exposure, material:Red.base_color, object:Cube.location, camera.lens, "
            f"or a group: {', '.join(GROUPS)}."
        )
    if kind == "light":
        return _light_param(name, target, attr, scene)
    if kind == "material":
        return _material_param(name, target, attr)
    if kind == "object":
        return _object_param(name, target, attr, scene)
    raise RefineError(
        f"Unknown parameter kind {kind!r} in {name!r}; use light:, material:, "
        "object:, camera., world. or exposure."
    )


def _world_param(name, scene):
    world = scene.world
    if world is None:
        raise RefineError(f"{name}: the scene has no world. Add one (lighting stage) first.")
    node = _background_node(world)
    if node is None:
        if name == "world.color":
            return _vector_param(name, "lighting", world, "color", "unit", 0.1)
        raise RefineError(
            f"{name}: world {world.name!r} has no Background node to set a strength on."
        )
    socket = node.inputs["Color" if name == "world.color" else "Strength"]
    if socket.is_linked:
        raise RefineError(
            f"{name}: the Background {socket.name} is driven by a node link; "
            "unlink it to refine it numerically."
        )
    if name == "world.color":
        return _socket_param(name, "lighting", socket, "unit", 0.1, channels=3)
    return _socket_param(name, "lighting", socket, "log", 0.4, role="intensity")


def _background_node(world):
    tree = world.node_tree
    if tree is None:
        return None
    output = next(
        (n for n in tree.nodes if n.bl_idname == "ShaderNodeOutputWorld" and n.is_active_output),
        None,
    )
    if output is not None and output.inputs["Surface"].is_linked:
        node = output.inputs["Surface"].links[0].from_node
        if node.bl_idname == "ShaderNodeBackground":
            return node
    return next((n for n in tree.nodes if n.bl_idname == "ShaderNodeBackground"), None)


def _camera_param(name, scene):
    cam = scene.camera
    if cam is None:
        raise RefineError(
            "The scene has no camera: add one and set it as scene.camera before "
            "refining (the render must look through the photo's viewpoint)."
        )
    attr = name.split(".", 1)[1]
    distance = max((cam.matrix_world.translation).length, scene_radius(scene), 0.1)
    if attr == "location":
        step = 0.04 * distance
        return _vector_param(
            name,
            "camera",
            cam,
            "location",
            "linear",
            step,
            directions=_view_directions(scene, step),
        )
    if attr == "rotation":
        _euler_check(cam, name)
        return _vector_param(name, "camera", cam, "rotation_euler", "linear", 0.03)
    if attr == "lens":
        if cam.data.type != "PERSP":
            raise RefineError(
                f"{name}: camera {cam.name!r} is {cam.data.type}, not perspective; "
                "only a perspective camera has a focal length."
            )
        return _scalar_param(
            name, "camera", cam.data, "lens", "log", 0.08, low=math.log(1.0), high=math.log(5000.0)
        )
    raise RefineError(
        f"Unknown camera parameter {name!r}; use camera.location, camera.rotation or camera.lens."
    )


def _light_param(name, target, attr, scene):
    obj = scene.objects.get(target)
    if obj is None or obj.type != "LIGHT":
        lights = [o.name for o in scene.objects if o.type == "LIGHT"]
        raise RefineError(
            f"{name}: no light object named {target!r}. Lights in the scene: "
            f"{', '.join(lights) or 'none'}."
        )
    if attr == "energy":
        return _scalar_param(name, "lighting", obj.data, "energy", "log", 0.4, role="intensity")
    if attr == "color":
        return _vector_param(name, "lighting", obj.data, "color", "unit", 0.1, role="light_color")
    if attr == "rotation":
        _euler_check(obj, name)
        return _vector_param(name, "lighting", obj, "rotation_euler", "linear", 0.2)
    if attr == "location":
        return _vector_param(name, "lighting", obj, "location", "linear", 0.2 * scene_radius(scene))
    raise RefineError(
        f"Unknown light parameter {attr!r} in {name!r}; use energy, color, rotation or location."
    )


_PRINCIPLED_INPUTS = {"base_color": "Base Color", "roughness": "Roughness", "metallic": "Metallic"}


def principled_node(material: bpy.types.Material) -> bpy.types.ShaderNodeBsdfPrincipled | None:
    """The Principled BSDF feeding the active material output (or the first one), or None."""
    tree = material.node_tree
    if tree is None:
        return None
    output = next(
        (n for n in tree.nodes if n.bl_idname == "ShaderNodeOutputMaterial" and n.is_active_output),
        None,
    )
    if output is not None and output.inputs["Surface"].is_linked:
        node = output.inputs["Surface"].links[0].from_node
        if node.bl_idname == "ShaderNodeBsdfPrincipled":
            return node
    return next((n for n in tree.nodes if n.bl_idname == "ShaderNodeBsdfPrincipled"), None)


def _material_param(name, target, attr):
    material = bpy.data.materials.get(target)
    if material is None:
        raise RefineError(
            f"{name}: no material named {target!r}. Materials: "
            f"{', '.join(m.name for m in bpy.data.materials) or 'none'}."
        )
    if attr not in _PRINCIPLED_INPUTS:
        raise RefineError(
            f"Unknown material parameter {attr!r} in {name!r}; use base_color, "
            "roughness or metallic."
        )
    node = principled_node(material)
    if node is None:
        raise RefineError(
            f"{name}: material {target!r} has no Principled BSDF node; the refiner "
            "tunes Principled base colour, roughness and metallic only."
        )
    socket = node.inputs[_PRINCIPLED_INPUTS[attr]]
    if socket.is_linked:
        raise RefineError(
            f"{name}: the {socket.name} of {target!r} is driven by a node link "
            "(e.g. a texture); unlink it to refine it numerically."
        )
    if attr == "base_color":
        return _socket_param(
            name,
            "material",
            socket,
            "unit",
            0.1,
            role="base_color",
            channels=3,
            material=material.name,
        )
    return _socket_param(name, "material", socket, "unit", 0.15, material=material.name)


def _object_param(name, target, attr, scene):
    obj = scene.objects.get(target)
    if obj is None:
        raise RefineError(f"{name}: no object named {target!r} in the scene.")
    radius = max(obj.dimensions.length / 2, 0.05) if obj.type in GEOMETRY_TYPES else 0.5
    if attr == "location":
        step = 0.1 * max(radius, 0.1 * scene_radius(scene))
        return _vector_param(
            name,
            "placement",
            obj,
            "location",
            "linear",
            step,
            directions=_view_directions(scene, step),
        )
    if attr == "rotation":
        _euler_check(obj, name)
        # Z is up in Blender scenes: turning about Z is the common placement change.
        return _vector_param(
            name,
            "placement",
            obj,
            "rotation_euler",
            "linear",
            0.15,
            directions=[(_axis(2), 0.15, True), (_axis(0), 0.15, False), (_axis(1), 0.15, False)],
        )
    if attr == "scale":
        axes = [(_axis(i), 0.1, False) for i in range(3)]
        param = _vector_param(
            name,
            "placement",
            obj,
            "scale",
            "log",
            0.1,
            directions=[([1.0, 1.0, 1.0], 0.1, True)] + axes,
        )
        if any(v <= 0 for v in obj.scale):
            raise RefineError(
                f"{name}: {target!r} has a zero or negative scale "
                f"{tuple(round(v, 3) for v in obj.scale)}; apply or fix it first."
            )
        return param
    raise RefineError(
        f"Unknown object parameter {attr!r} in {name!r}; use location, rotation or scale."
    )


# ----------------------------------------------------------------------------- groups
def _check_objects(scene, objects):
    missing = [n for n in objects if scene.objects.get(n) is None]
    if missing:
        raise RefineError(
            f"No object named {', '.join(map(repr, missing))} in the scene. "
            f"Objects: {', '.join(o.name for o in scene.objects)}."
        )
    return [scene.objects[n] for n in objects]


def _renderable(scene, types):
    return [o for o in scene.objects if o.type in types and not o.hide_render]


def group_names(
    group: str, scene: bpy.types.Scene, objects: Sequence[str] | None = None
) -> list[str]:
    """Parameter names a group preset stands for (limited to ``objects`` when given)."""
    chosen = _check_objects(scene, objects) if objects else None
    if group == "lighting":
        lights = [o for o in (chosen or []) if o.type == "LIGHT"] or _renderable(scene, {"LIGHT"})
        names = []
        for light in lights:
            names += [f"light:{light.name}.energy", f"light:{light.name}.color"]
            if light.data.type in DIRECTIONAL_LIGHTS:
                names.append(f"light:{light.name}.rotation")
            else:
                names.append(f"light:{light.name}.location")
        if scene.world is not None and _background_node(scene.world) is not None:
            names += ["world.strength", "world.color"]
        if not names:
            raise RefineError(
                "lighting: the scene has no lights and no world to refine. Add a "
                "light in the lighting stage first."
            )
        return names
    if group == "material":
        meshes = chosen or _renderable(scene, GEOMETRY_TYPES)
        names = []
        for obj in meshes:
            mats = [s.material for s in getattr(obj, "material_slots", []) if s.material]
            if not mats:
                if chosen:
                    raise RefineError(
                        f"material: object {obj.name!r} has no material. Give it "
                        "one (material stage) before refining its colour."
                    )
                continue
            for mat in mats:
                for attr in _PRINCIPLED_INPUTS:
                    n = f"material:{mat.name}.{attr}"
                    if n not in names and principled_node(mat) is not None:
                        names.append(n)
        if not names:
            raise RefineError("material: no object with a Principled BSDF material to refine.")
        return names
    if group == "placement":
        movable = chosen or _renderable(scene, GEOMETRY_TYPES)
        names = [f"object:{o.name}.{a}" for o in movable for a in ("location", "rotation", "scale")]
        if not names:
            raise RefineError("placement: no objects to place.")
        return names
    if group == "camera":
        return ["camera.location", "camera.rotation", "camera.lens"]
    raise RefineError(f"Unknown group {group!r}; use one of {', '.join(GROUPS)}.")


def resolve_targets(
    targets: str | list[str] | tuple[str, ...],
    scene: bpy.types.Scene,
    objects: Sequence[str] | None = None,
) -> list[Param]:
    """Params for a list (or comma-separated string) of names and group presets, deduplicated."""
    if isinstance(targets, str):
        targets = [t for t in (s.strip() for s in targets.split(",")) if t]
    if not isinstance(targets, (list, tuple)) or not targets:
        raise RefineError(
            "targets must be a non-empty list of parameter names or groups "
            f"({', '.join(GROUPS)}), e.g. ['light:Sun.energy', 'material']."
        )
    if scene.camera is None:
        raise RefineError(
            "The scene has no camera: add one and set it as scene.camera before "
            "refining (the render must look through the photo's viewpoint)."
        )
    names = []
    for target in targets:
        if not isinstance(target, str):
            raise RefineError(f"targets must be strings, got {target!r}")
        expanded = group_names(target, scene, objects) if target in GROUPS else [target]
        names += [n for n in expanded if n not in names]
    return [resolve(n, scene) for n in names]
