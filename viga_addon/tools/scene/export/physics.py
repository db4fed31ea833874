"""The physics set-up and the event in scene.py: the rigid-body world, each rigid body, force
field and rigid-body constraint, the frame range, and every object's keyframes (an interaction's
kinematic handoff, a shaken ground). The bake itself is not written: the rebuilt scene is baked
again in Blender (Scene › Rigid Body World › Bake)."""

from __future__ import annotations

from ..keyframes import fcurves, keys
from .literals import lit, lit_dict, q
from .output import Output
from .props import simple_props

# the pointers and bookkeeping of rigid-body settings, set otherwise or not at all
_BODY_SKIP = frozenset({"collision_collections"})
_CACHE = ("frame_start", "frame_end")


def write_physics(out: Output) -> None:
    """Rigid bodies, fields, constraints and keyframes of the scene's objects, once all exist."""
    scene = out.scene
    world = scene.rigidbody_world
    animated = [o for o in scene.objects if fcurves(o)]
    fields = [o for o in scene.objects if o.field is not None and o.field.type != "NONE"]
    if world is None and not animated and not fields:
        return
    out.section("Physics and animation: rigid bodies, fields, keyframes (bake again to play)")
    out.emit(
        f"set_props(scene, {lit_dict({'frame_start': scene.frame_start, 'frame_end': scene.frame_end})}, 'frame range')"
    )
    if world is not None:
        cache = {a: getattr(world.point_cache, a) for a in _CACHE}
        settings = simple_props(world, skip=("enabled",))
        out.emit("with block('rigid-body world'):")
        out.emit(f"    add_rigid_world(scene, {lit_dict(settings)}, {lit_dict(cache)})")
        for obj in scene.objects:
            if obj.rigid_body is not None:
                props = {
                    "type": obj.rigid_body.type,
                    **simple_props(obj.rigid_body, skip=_BODY_SKIP),
                }
                out.emit(f"with block({q(f'rigid body {obj.name}')}):")
                out.emit(f"    add_rigid_body({obj.name!r}, {lit_dict(props)})")
        for obj in scene.objects:
            constraint = obj.rigid_body_constraint
            if constraint is not None:
                props = {"type": constraint.type, **simple_props(constraint)}
                ends = [getattr(constraint, a) for a in ("object1", "object2")]
                names = [e.name if e is not None else None for e in ends]
                out.emit(f"with block({q(f'rigid body constraint {obj.name}')}):")
                out.emit(f"    add_rigid_constraint({obj.name!r}, {lit_dict(props)}, {lit(names)})")
    for obj in fields:
        out.emit(f"with block({q(f'force field {obj.name}')}):")
        props = {"type": obj.field.type, **simple_props(obj.field)}
        out.emit(f"    add_field({obj.name!r}, {lit_dict(props)})")
    for obj in animated:
        for curve in fcurves(obj):
            rows = [(round(f, 4), v, i) for f, v, i in keys(curve)]
            out.emit(f"with block({q(f'keyframes {obj.name} {curve.data_path}')}):")
            out.emit(
                f"    add_keys({obj.name!r}, {curve.data_path!r}, {curve.array_index}, {lit(rows)})"
            )
