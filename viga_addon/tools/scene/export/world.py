"""The world, light and camera data, and the scene's render and colour-management settings.

Lights and cameras are written inside their object's block (``objects.write_object`` calls
``write_light``/``write_camera`` for the data); the world and the settings are sections of their own.
"""

from __future__ import annotations

import bpy

from .literals import lit, lit_dict, q
from .nodes import uses_nodes, write_tree
from .output import Output
from .props import changed_props, simple_props

LIGHT_KEYS = ("energy", "color", "shadow_soft_size", "use_shadow")
LIGHT_KEYS_BY_TYPE = {
    "SUN": ("angle",),
    "SPOT": ("spot_size", "spot_blend", "show_cone"),
    "AREA": ("shape", "size", "size_y"),
    "POINT": (),
}
CAMERA_SKIP = {"angle", "angle_x", "angle_y", "custom_bytecode", "custom_bytecode_hash"}
CAMERA_KEYS = (
    "type",
    "lens",
    "lens_unit",
    "sensor_fit",
    "sensor_width",
    "sensor_height",
    "clip_start",
    "clip_end",
    "ortho_scale",
    "shift_x",
    "shift_y",
)
RENDER_KEYS = (
    "engine",
    "resolution_x",
    "resolution_y",
    "resolution_percentage",
    "film_transparent",
    "pixel_aspect_x",
    "pixel_aspect_y",
    "fps",
    "use_persistent_data",
)
CYCLES_KEYS = (
    "device",
    "samples",
    "preview_samples",
    "seed",
    "use_animated_seed",
    "use_denoising",
    "use_adaptive_sampling",
    "adaptive_threshold",
    "adaptive_min_samples",
    "time_limit",
    "max_bounces",
    "diffuse_bounces",
    "glossy_bounces",
    "transmission_bounces",
    "volume_bounces",
    "transparent_max_bounces",
    "sample_clamp_direct",
    "sample_clamp_indirect",
    "blur_glossy",
    "caustics_reflective",
    "caustics_refractive",
    "pixel_filter_type",
    "filter_width",
    "film_exposure",
    "use_light_tree",
)
VIEW_KEYS = ("view_transform", "look", "exposure", "gamma", "use_curve_mapping")


def write_world(out: Output, world: bpy.types.World | None) -> None:
    """The scene's world: its colour and node tree."""
    if world is None:
        return
    out.section(f"World {world.name!r}")
    out.emit(f"with block({q(f'world {world.name}')}):")
    out.emit(f"    world = bpy.data.worlds.new({world.name!r})")
    out.emit(f"    set_props(world, {{'color': {lit(tuple(world.color))}}}, 'world')")
    out.emit("    scene.world = world")
    if uses_nodes(world):
        out.emit("    if world.node_tree is None:  # Blender < 5.0")
        out.emit("        world.use_nodes = True")
        out.emit("    tree = world.node_tree")
        start = len(out.lines)
        write_tree(out, world.node_tree, "tree", f"world {world.name!r}")
        out.indent_from(start)


def write_light(out: Output, light: bpy.types.Light) -> None:
    """Light data as ``data`` (inside the object's block)."""
    fresh = out.fresh.get("lights", light.type)
    keep = set(LIGHT_KEYS) | set(LIGHT_KEYS_BY_TYPE.get(light.type, ()))
    props = changed_props(light, fresh, keep=keep)
    out.emit(f"    data = bpy.data.lights.new({light.name!r}, {light.type!r})")
    out.emit(f"    set_props(data, {lit_dict(props)}, {q(f'light {light.name}')})")
    cycles = getattr(light, "cycles", None)
    if cycles is not None:
        extra = changed_props(cycles, getattr(fresh, "cycles", None))
        if extra:
            what = q(f"light {light.name} (cycles)")
            out.emit(f"    set_props(data.cycles, {lit_dict(extra)}, {what})")
    if light.node_tree is not None and len(light.node_tree.nodes) > 2:
        out.skipped.append(f"light {light.name!r}: light node tree not written")


def write_camera(out: Output, camera: bpy.types.Camera) -> None:
    """Camera data as ``data`` (inside the object's block); its focus object at the end."""
    fresh = out.fresh.get("cameras")
    props = changed_props(camera, fresh, keep=set(CAMERA_KEYS), skip=CAMERA_SKIP)
    # lens/sensor first so derived values settle before the rest
    ordered = {k: props.pop(k) for k in CAMERA_KEYS if k in props}
    ordered.update(props)
    out.emit(f"    data = bpy.data.cameras.new({camera.name!r})")
    out.emit(f"    set_props(data, {lit_dict(ordered)}, {q(f'camera {camera.name}')})")
    dof = changed_props(camera.dof, fresh.dof)
    if dof:
        what = q(f"camera {camera.name} depth of field")
        out.emit(f"    set_props(data.dof, {lit_dict(dof)}, {what})")
    if camera.dof.focus_object is not None:
        out.deferred.append(
            f"reference(bpy.data.cameras[{camera.name!r}].dof, 'focus_object', 'objects', "
            f"{camera.dof.focus_object.name!r}, {q(f'focus object of camera {camera.name}')})"
        )


def write_settings(out: Output) -> None:
    """Scene name and camera, render engine and settings, colour management."""
    scene = out.scene
    out.section("Scene settings: camera, render, colour management")
    out.emit("with block('scene settings'):")
    out.emit(f"    scene.name = {scene.name!r}")
    if scene.camera is not None:
        out.emit(f"    scene.camera = bpy.data.objects.get({scene.camera.name!r})")
    render = simple_props(scene.render, only=set(RENDER_KEYS))
    engine = render.pop("engine", "CYCLES")
    out.emit(f"    set_engine(scene.render, {engine!r})")
    out.emit(f"    set_props(scene.render, {lit_dict(render)}, 'render')")
    cycles = getattr(scene, "cycles", None)
    if cycles is not None:
        values = lit_dict(simple_props(cycles, only=set(CYCLES_KEYS)))
        out.emit(f"    set_props(scene.cycles, {values}, 'cycles')")
    out.emit(f"    set_props(scene, {{'frame_current': {scene.frame_current}}}, 'frame')")
    out.emit(
        "    set_props(scene.display_settings, "
        f"{{'display_device': {scene.display_settings.display_device!r}}}, 'display')"
    )
    view = lit_dict(simple_props(scene.view_settings, only=set(VIEW_KEYS)))
    out.emit(f"    set_props(scene.view_settings, {view}, 'view')")
    try:
        sequencer = scene.sequencer_colorspace_settings.name
        out.emit(
            "    set_props(scene.sequencer_colorspace_settings, "
            f"{{'name': {sequencer!r}}}, 'sequencer colour space')"
        )
    except Exception:  # noqa: BLE001
        pass
