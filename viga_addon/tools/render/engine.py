"""Preview / final renders of the current scene to a PNG, leaving the scene as it was.

``render()`` is the only entry point the agent needs. It picks the render engine id for the
running Blender (EEVEE is ``BLENDER_EEVEE_NEXT`` on 4.2 and ``BLENDER_EEVEE`` on 5.x), picks a
GPU backend for Cycles when one exists, frames a temporary camera when the scene has none, and
puts every setting it touched back afterwards, also when rendering fails.

The small geometry helpers at the bottom (bounds, look-at, fit distance) are shared with
``viewing.py``.
"""

import math
import os
import tempfile
import time

import bpy
from mathutils import Vector

PRESETS = {
    # adaptive_threshold: a loose noise target is fine for a 256 px preview and saves time.
    "preview": {"long_side": 256, "samples": 16, "adaptive_threshold": 0.05, "denoise": True},
    "final": {"long_side": 1024, "samples": 128, "adaptive_threshold": 0.01, "denoise": True},
}
ENGINES = ("CYCLES", "EEVEE")
DEVICES = ("auto", "cpu", "gpu")
GPU_BACKENDS = ("OPTIX", "CUDA", "HIP", "METAL", "ONEAPI")

# Object types whose bounding box means something for framing.
GEOMETRY_TYPES = {
    "MESH",
    "CURVE",
    "CURVES",
    "SURFACE",
    "META",
    "FONT",
    "VOLUME",
    "POINTCLOUD",
    "GPENCIL",
    "GREASEPENCIL",
}

_gpu_cache = {}
_default_dir = None


# ---------------------------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------------------------


def render(
    preset="preview",
    *,
    path=None,
    engine="CYCLES",
    device="auto",
    long_side=None,
    samples=None,
    camera=None,
    backend=None,
):
    """Render the current scene to a PNG (RGBA, 8 bit) and return a result dict.

    preset: "preview" (256 px long side, 16 adaptive samples, denoised) or "final" (1024 px,
    128 samples, denoised). ``long_side`` and ``samples`` override the preset. The aspect ratio is
    the scene's resolution_x / resolution_y. engine: "CYCLES" or "EEVEE". device: "auto" (GPU when
    one exists, else CPU), "cpu" or "gpu" (fails when no GPU exists). camera: name of a camera
    object to render through instead of scene.camera (the scene keeps its own camera).
    backend: the device ``choose_device(device)`` picked, passed explicitly (the render process
    has no artist preferences to pick from): {"backend": "OPTIX" | … | None, "devices": [...]};
    None picks it here.

    Returns {"ok", "path", "seconds", "engine", "device", "backend", "width", "height", "samples",
    "denoised", "note"} or {"ok": False, "error"}. Every scene setting changed is restored.
    """
    try:
        request = _validate(preset, engine, device, long_side, samples, camera)
        request["chosen"] = backend
    except ValueError as exc:
        return {"ok": False, "error": str(exc)}
    scene = bpy.context.scene
    path = os.path.abspath(path) if path else _default_path()
    notes = []
    saved = SavedSettings()
    temp_camera = None
    try:
        width, height = _resolution(scene, request["long_side"])
        saved.set(scene.render, "resolution_x", width)
        saved.set(scene.render, "resolution_y", height)
        saved.set(scene.render, "resolution_percentage", 100)
        saved.set(scene.render, "engine", request["engine_id"])
        saved.set(scene.render, "use_file_extension", True)
        saved.set(scene.render.image_settings, "file_format", "PNG")
        saved.set(scene.render.image_settings, "color_mode", "RGBA")
        saved.set(scene.render.image_settings, "color_depth", "8")

        if request["engine"] == "CYCLES":
            device_info = _setup_cycles(scene, saved, request, notes)
        else:
            device_info = _setup_eevee(scene, saved, request, notes)

        if camera is not None:
            saved.set(scene, "camera", bpy.data.objects[camera])
        elif scene.camera is None:
            temp_camera = add_framing_camera(scene, visible_geometry(scene))
            saved.set(scene, "camera", temp_camera)
            notes.append(
                "The scene has no camera: rendered through a temporary camera framing "
                "all visible objects (removed afterwards)."
            )

        os.makedirs(os.path.dirname(path), exist_ok=True)
        temp_path = _temp_sibling(path)
        saved.set(scene.render, "filepath", temp_path)
        seconds = _run_render()
        if not os.path.exists(temp_path):
            raise RuntimeError(f"Blender reported no error but wrote no image at {temp_path}")
        os.replace(temp_path, path)
        return {
            "ok": True,
            "path": path,
            "seconds": round(seconds, 3),
            "engine": request["engine"],
            "device": device_info["device"],
            "backend": device_info["backend"],
            "width": width,
            "height": height,
            "samples": request["samples"],
            "denoised": device_info["denoised"],
            "note": " ".join(notes),
        }
    except ValueError as exc:  # a request this machine cannot serve, e.g. no GPU
        return {"ok": False, "error": str(exc)}
    except Exception as exc:  # a render failure must never take the session down
        return {"ok": False, "error": f"Render failed: {type(exc).__name__}: {exc}"}
    finally:
        saved.restore()
        if temp_camera is not None:
            remove_camera_object(temp_camera)
        _remove_quietly(locals().get("temp_path"))


def engine_id(engine):
    """The bpy engine identifier for "CYCLES" or "EEVEE" in the running Blender."""
    if engine == "CYCLES":
        return "CYCLES"
    items = {
        item.identifier for item in bpy.types.RenderSettings.bl_rna.properties["engine"].enum_items
    }
    # 4.2-4.4 call the new EEVEE "BLENDER_EEVEE_NEXT"; 5.x renamed it back to "BLENDER_EEVEE".
    for candidate in ("BLENDER_EEVEE_NEXT", "BLENDER_EEVEE"):
        if candidate in items:
            return candidate
    raise ValueError("This Blender build offers no EEVEE engine; use engine='CYCLES'.")


def find_gpu_backend(refresh=False):
    """First Cycles GPU backend with a usable device, as (backend, [device names]) or (None, [])."""
    if "result" in _gpu_cache and not refresh:
        return _gpu_cache["result"]
    prefs = _cycles_preferences()
    result = (None, [])
    if prefs is not None:
        original = prefs.compute_device_type
        try:
            for backend in GPU_BACKENDS:
                try:
                    prefs.compute_device_type = backend
                except TypeError:  # backend not compiled into this build (e.g. METAL on Linux)
                    continue
                prefs.refresh_devices()
                devices = [d.name for d in prefs.get_devices_for_type(backend) if d.type != "CPU"]
                if devices:
                    result = (backend, devices)
                    break
        finally:
            prefs.compute_device_type = original
    _gpu_cache["result"] = result
    return result


def choose_device(device="auto"):
    """The Cycles device a render of ``device`` ("auto", "cpu", "gpu") uses here, as
    {"backend": "OPTIX" | "CUDA" | … | None (the CPU), "devices": [names]}: the artist's own
    choice in the Cycles preferences when it names a GPU backend with devices (those ticked, or
    all), else the first backend with a device (``find_gpu_backend``)."""
    if str(device).lower() == "cpu":
        return {"backend": None, "devices": []}
    prefs = _cycles_preferences()
    own = getattr(prefs, "compute_device_type", "NONE") if prefs is not None else "NONE"
    if own in GPU_BACKENDS:
        try:
            gpus = [d for d in prefs.get_devices_for_type(own) if d.type != "CPU"]
        except Exception:  # a backend the build lists but cannot query
            gpus = []
        if gpus:
            ticked = [d.name for d in gpus if d.use]
            return {"backend": own, "devices": ticked or [d.name for d in gpus]}
    backend, names = find_gpu_backend()
    return {"backend": backend, "devices": list(names)}


def tried_backends():
    """GPU backends this build can try (the ones compiled in)."""
    prefs = _cycles_preferences()
    if prefs is None:
        return []
    allowed = {
        item.identifier for item in prefs.bl_rna.properties["compute_device_type"].enum_items
    }
    if not allowed:  # dynamic enum: ask by trying
        return [b for b in GPU_BACKENDS if _backend_settable(prefs, b)]
    return [b for b in GPU_BACKENDS if b in allowed]


# ---------------------------------------------------------------------------------------------
# Geometry helpers (shared with viewing.py)
# ---------------------------------------------------------------------------------------------


def visible_geometry(scene):
    """Objects with geometry that would show up in a render."""
    return [
        obj
        for obj in scene.objects
        if obj.type in GEOMETRY_TYPES and not obj.hide_render and obj.visible_get()
    ]


def world_bounds(objects):
    """(centre, radius) of the joint world-space bounding box; radius is half the diagonal.

    Objects without a bounding box (lights, empties) count as points. None when empty.
    """
    points = []
    for obj in objects:
        if obj.type in GEOMETRY_TYPES:
            points.extend(obj.matrix_world @ Vector(corner) for corner in obj.bound_box)
        else:
            points.append(obj.matrix_world.translation.copy())
    if not points:
        return None
    low = Vector((min(p.x for p in points), min(p.y for p in points), min(p.z for p in points)))
    high = Vector((max(p.x for p in points), max(p.y for p in points), max(p.z for p in points)))
    centre = (low + high) / 2
    return centre, max((high - low).length / 2, 0.05)


def look_at_euler(location, target):
    """Euler rotation (radians) of a camera at ``location`` looking at ``target``, Z up."""
    direction = Vector(target) - Vector(location)
    if direction.length < 1e-9:
        direction = Vector((0.0, 0.0, -1.0))
    return direction.to_track_quat("-Z", "Y").to_euler()


def fit_distance(radius, lens, sensor_width, aspect, margin=1.1):
    """Distance at which a sphere of ``radius`` fits the narrower side of the camera's view."""
    # Blender's default sensor fit (AUTO) applies the sensor width to the longer image side.
    narrow_sensor = sensor_width * min(aspect, 1 / aspect)
    half_fov = math.atan(narrow_sensor / 2 / lens)
    return radius * margin / math.sin(half_fov)


def scene_aspect(scene):
    """Width / height of the scene's render resolution (pixel aspect included)."""
    r = scene.render
    return (r.resolution_x * r.pixel_aspect_x) / max(r.resolution_y * r.pixel_aspect_y, 1e-9)


def add_camera_object(scene, name, location, rotation, lens=50.0):
    """A new camera object linked to the scene collection (caller removes it)."""
    data = bpy.data.cameras.new(name)
    data.lens = lens
    data.clip_start = 0.01
    data.clip_end = 10000.0
    obj = bpy.data.objects.new(name, data)
    obj.location = location
    obj.rotation_euler = rotation
    scene.collection.objects.link(obj)
    return obj


def add_framing_camera(scene, objects, azimuth_deg=45.0, elevation_deg=30.0):
    """A temporary camera looking at the bounding box of ``objects`` from a raised diagonal."""
    bounds = world_bounds(objects)
    centre, radius = bounds if bounds else (Vector((0.0, 0.0, 0.0)), 1.0)
    lens = 50.0
    distance = fit_distance(radius, lens, 36.0, scene_aspect(scene))
    location = centre + distance * direction_from_angles(azimuth_deg, elevation_deg)
    return add_camera_object(
        scene, "viga_temp_camera", location, look_at_euler(location, centre), lens
    )


def direction_from_angles(azimuth_deg, elevation_deg):
    """Unit vector pointing from a target towards a viewer at the given azimuth / elevation."""
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    return Vector((math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)))


def remove_camera_object(obj):
    """Remove a camera object and its camera data block, leaving nothing behind."""
    data = obj.data
    bpy.data.objects.remove(obj, do_unlink=True)
    if data is not None and data.users == 0:
        bpy.data.cameras.remove(data)


# ---------------------------------------------------------------------------------------------
# Internals
# ---------------------------------------------------------------------------------------------


class SavedSettings:
    """Remembers (owner, attribute) values before changing them; restore() puts them back."""

    def __init__(self):
        self._saved = []

    def set(self, owner, attr, value):
        self._saved.append((owner, attr, getattr(owner, attr)))
        setattr(owner, attr, value)

    def restore(self):
        for owner, attr, value in reversed(self._saved):
            try:
                setattr(owner, attr, value)
            except Exception:  # e.g. the owner was removed meanwhile; nothing left to restore
                pass
        self._saved.clear()


def _validate(preset, engine, device, long_side, samples, camera):
    if preset not in PRESETS:
        raise ValueError(f"Unknown preset {preset!r}; use one of {', '.join(PRESETS)}.")
    engine = str(engine).upper()
    if engine not in ENGINES:
        raise ValueError(f"Unknown engine {engine!r}; use 'CYCLES' or 'EEVEE'.")
    device = str(device).lower()
    if device not in DEVICES:
        raise ValueError(f"Unknown device {device!r}; use 'auto', 'cpu' or 'gpu'.")
    settings = dict(PRESETS[preset])
    if long_side is not None:
        if not isinstance(long_side, int) or not 8 <= long_side <= 8192:
            raise ValueError("long_side must be an integer between 8 and 8192 pixels.")
        settings["long_side"] = long_side
    if samples is not None:
        if not isinstance(samples, int) or not 1 <= samples <= 65536:
            raise ValueError("samples must be a positive integer.")
        settings["samples"] = samples
    if camera is not None:
        obj = bpy.data.objects.get(camera)
        if obj is None or obj.type != "CAMERA":
            cameras = [o.name for o in bpy.context.scene.objects if o.type == "CAMERA"]
            raise ValueError(
                f"No camera object named {camera!r}. Cameras in the scene: "
                f"{', '.join(cameras) or 'none'}."
            )
    settings.update(engine=engine, engine_id=engine_id(engine), device=device)
    return settings


def _resolution(scene, long_side):
    aspect = scene.render.resolution_x / max(scene.render.resolution_y, 1)
    if aspect >= 1:
        return long_side, max(1, round(long_side / aspect))
    return max(1, round(long_side * aspect)), long_side


def _setup_cycles(scene, saved, request, notes):
    cycles = scene.cycles
    saved.set(cycles, "samples", request["samples"])
    saved.set(cycles, "use_adaptive_sampling", True)
    saved.set(cycles, "adaptive_threshold", request["adaptive_threshold"])
    denoised = False
    if request["denoise"]:
        denoised = _oidn_available()
        saved.set(cycles, "use_denoising", denoised)
        if denoised:
            saved.set(cycles, "denoiser", "OPENIMAGEDENOISE")
        else:
            notes.append("OpenImageDenoise is not available in this Blender build: not denoised.")
    else:
        saved.set(cycles, "use_denoising", False)

    chosen = request.get("chosen") or choose_device(request["device"])
    backend, wanted = chosen.get("backend"), chosen.get("devices") or []
    if request["device"] == "cpu":
        backend = None
    if request["device"] in ("auto", "gpu"):
        if backend is None:
            tried = ", ".join(tried_backends()) or "none compiled in"
            if request["device"] == "gpu":
                raise ValueError(
                    f"device='gpu' was requested but no GPU is available to Cycles "
                    f"(tried {tried}). Use device='auto' or device='cpu'."
                )
            notes.append(f"No GPU found for Cycles (tried {tried}): rendered on the CPU.")
    if backend is None:
        saved.set(cycles, "device", "CPU")
        return {"device": "CPU", "backend": "CPU", "denoised": denoised}
    prefs = _cycles_preferences()
    saved.set(prefs, "compute_device_type", backend)
    prefs.refresh_devices()
    usable = [d for d in prefs.get_devices_for_type(backend) if d.type != "CPU"]
    if not usable:
        raise ValueError(f"Cycles found no {backend} device on this machine.")
    for dev in prefs.get_devices_for_type(backend):
        saved.set(dev, "use", dev.type != "CPU" and (not wanted or dev.name in wanted))
    saved.set(cycles, "device", "GPU")
    return {"device": "GPU", "backend": backend, "denoised": denoised}


def _setup_eevee(scene, saved, request, notes):
    saved.set(scene.eevee, "taa_render_samples", request["samples"])
    if request["device"] == "cpu":
        notes.append("EEVEE always renders through the GPU module; device='cpu' ignored.")
    backend = "GPU"
    try:
        import gpu

        backend = gpu.platform.backend_type_get()
        if "llvmpipe" in gpu.platform.renderer_get().lower():
            notes.append("EEVEE is running on a software GPU (llvmpipe): slow shader compiles.")
    except Exception:  # the GPU module is not initialised before the first EEVEE render
        pass
    return {"device": "GPU", "backend": backend, "denoised": False}


def _run_render():
    """Render the active scene to its filepath; returns the seconds it took."""
    started = time.perf_counter()
    bpy.ops.render.render(write_still=True)
    return time.perf_counter() - started


def _cycles_preferences():
    addon = bpy.context.preferences.addons.get("cycles")
    return addon.preferences if addon else None


def _backend_settable(prefs, backend):
    original = prefs.compute_device_type
    try:
        prefs.compute_device_type = backend
        return True
    except TypeError:
        return False
    finally:
        prefs.compute_device_type = original


def _oidn_available():
    try:
        import _cycles

        return bool(getattr(_cycles, "with_openimagedenoise", False))
    except ImportError:
        return False


def _default_path():
    global _default_dir
    if _default_dir is None or not os.path.isdir(_default_dir):
        _default_dir = tempfile.mkdtemp(prefix="viga_render_")
    return os.path.join(
        _default_dir, f"render_{time.strftime('%H%M%S')}_{time.time_ns() % 10**6}.png"
    )


def _temp_sibling(path):
    folder, name = os.path.split(path)
    stem = name[:-4] if name.lower().endswith(".png") else name
    # Ends in .png so Blender's use_file_extension does not append another one.
    return os.path.join(folder, f".{stem}.{os.getpid()}.tmp.png")


def _remove_quietly(path):
    if path and os.path.exists(path):
        try:
            os.remove(path)
        except OSError:
            pass
