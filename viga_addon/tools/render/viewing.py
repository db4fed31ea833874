"""Looking at the scene without changing it: the verifier's viewer and the generator's
render_view.

The viewer keeps its own view (camera location, rotation, lens, focus point) and its own
shown/hidden sets in a ``Viewer`` object. They are applied only while rendering: a temporary
camera object is created, objects' ``hide_render`` flags are switched, ``render()`` runs, and
everything is removed or put back, so the scene's cameras, ``scene.camera`` and every object's
visibility are exactly as before each call. The poses are computed here, on the main thread; the
render itself is a job (render_process/jobs.py) that ``Viewer.dispatch`` runs: here and now by
default, in the render process when the host sets it.

``render_view`` is the generator's one-shot view through the same render path: the photo's
camera (the default), a named view (front, side, top) or an orbit (azimuth, elevation, distance)
around the bounding box of some objects, optionally with only some objects rendered (isolate).
It keeps no state between calls and returns the camera pose it used.
"""

import math
import os
import tempfile

import bpy
from mathutils import Euler, Vector

from ...stages.base import INVESTIGATE_OPERATIONS
from . import engine as render_tool
from .process import jobs

OPERATIONS = INVESTIGATE_OPERATIONS
DEFAULT_ORBIT_DEGREES = 30.0
DEFAULT_ZOOM_FACTOR = 1.5
DEFAULT_LENS = 50.0
NAMES_LISTED = 30
TEMP_CAMERA_NAME = jobs.TEMP_CAMERA_NAME


class Viewer:
    """The verifier's private view of the scene: a camera pose, a focus point, shown/hidden sets."""

    # Extra keyword arguments for render(), e.g. {"long_side": 64, "samples": 4} in tests.
    render_options = {}

    def __init__(self):
        self.location = None  # Vector, None until a view is chosen
        self.rotation = None  # Euler (radians)
        self.lens = DEFAULT_LENS
        self.focus_point = None  # Vector: what orbits turn around
        self.hidden = set()
        self.shown = set()
        self.out_dir = None
        self._counter = 0

    # -- tools ----------------------------------------------------------------------------------

    def initialize_viewpoint(self, object_names, count=4, out_dir=None):
        """Render ``count`` views from raised diagonal corners around the given objects.

        The views look at the centre of the joint bounding box from far enough to fit it. An empty
        list means all visible objects. The first view becomes the current view.
        """
        if not isinstance(count, int) or not 1 <= count <= 12:
            return _error("count must be an integer from 1 to 12.")
        objects, error = _objects_named(object_names)
        if error:
            return error
        if not objects:
            objects = render_tool.visible_geometry(bpy.context.scene)
        bounds = render_tool.world_bounds(objects)
        centre, radius = bounds if bounds else (Vector((0.0, 0.0, 0.0)), 1.0)
        distance = self._fit_distance(radius, DEFAULT_LENS)
        views = []
        for index in range(count):
            azimuth = 45.0 + index * 360.0 / count
            location = centre + distance * render_tool.direction_from_angles(azimuth, 35.0)
            view = (location, render_tool.look_at_euler(location, centre), DEFAULT_LENS)
            views.append(self._view_spec(view, out_dir, f"viewpoint_{index + 1}"))

        def finish(results):
            first = centre + distance * render_tool.direction_from_angles(45.0, 35.0)
            self._set_view(first, render_tool.look_at_euler(first, centre), DEFAULT_LENS, centre)
            return {
                "ok": True,
                "images": [{"path": r["path"], "camera": r["camera"]} for r in results],
                "note": "The first image is now the current view for investigate().",
            }

        return self._render_views(views, finish)

    def set_camera(self, location, rotation=None, look_at=None, lens=None, out_dir=None):
        """Move the viewer's camera to ``location`` (rotation in degrees XYZ, or a look_at point)."""
        try:
            location = _vector3(location, "location")
            if look_at is not None:
                target = _vector3(look_at, "look_at")
                if (target - location).length < 1e-6:
                    raise ValueError("look_at must differ from location.")
                rotation_euler = render_tool.look_at_euler(location, target)
            elif rotation is not None:
                rotation_euler = Euler([math.radians(a) for a in _vector3(rotation, "rotation")])
                target = None
            else:
                raise ValueError("Give either rotation (degrees XYZ) or look_at (a point).")
            lens = self._valid_lens(lens)
        except ValueError as exc:
            return _error(str(exc))
        if target is None:
            target = self._point_ahead(location, rotation_euler)
        self._set_view(location, rotation_euler, lens, target)
        return self._render_current(out_dir, "camera")

    def investigate(self, operation, object_name=None, amount=None, out_dir=None):
        """Change the view relative to the current one and render it.

        orbit_left/right/up/down: move around the focus point by ``amount`` degrees (default 30).
        zoom_in/zoom_out: move towards/away from the focus point by ``amount`` (factor, default 1.5).
        focus: look at ``object_name`` and frame it. reset: back to the scene camera's view.
        """
        if operation not in OPERATIONS:
            return _error(
                f"Unknown operation {operation!r}. Valid operations: {', '.join(OPERATIONS)}."
            )
        if operation == "focus":
            if not object_name:
                return _error("focus needs object_name, the object to look at.")
            objects, error = _objects_named([object_name])
            if error:
                return error
        if amount is not None and (not isinstance(amount, (int, float)) or amount <= 0):
            return _error(
                "amount must be a positive number (degrees for orbits, a factor above 1 for zooms)."
            )
        if operation.startswith("zoom") and amount is not None and amount <= 1:
            return _error("zoom amount is a factor above 1, e.g. 1.5 (1.5 times closer/farther).")

        if operation == "reset" or self.location is None:
            self._reset_view()
        if operation.startswith("orbit"):
            self._orbit(operation, DEFAULT_ORBIT_DEGREES if amount is None else float(amount))
        elif operation.startswith("zoom"):
            factor = DEFAULT_ZOOM_FACTOR if amount is None else float(amount)
            self._zoom(factor if operation == "zoom_in" else 1 / factor)
        elif operation == "focus":
            self._focus(objects[0])
        return self._render_current(out_dir, operation)

    def set_visibility(self, show=(), hide=()):
        """Show or hide objects in the viewer's renders only (the scene is untouched)."""
        show, hide = _name_list(show), _name_list(hide)
        _, error = _objects_named(show + hide)
        if error:
            return error
        overlap = set(show) & set(hide)
        if overlap:
            return _error(f"Objects both shown and hidden: {', '.join(sorted(overlap))}.")
        self.hidden = (self.hidden - set(show)) | set(hide)
        self.shown = (self.shown - set(hide)) | set(show)
        scene_hidden = {o.name for o in bpy.context.scene.objects if o.hide_render}
        now_hidden = sorted((self.hidden | scene_hidden) - self.shown)
        return {
            "ok": True,
            "hidden": now_hidden,
            "note": "Applies to viewer renders only; the scene itself is unchanged.",
        }

    def reset_state(self):
        """Forget the view and the shown/hidden sets (e.g. when a new round starts)."""
        self.__init__()

    # -- view maths -----------------------------------------------------------------------------

    def _set_view(self, location, rotation, lens, focus_point):
        self.location = Vector(location)
        self.rotation = Euler(rotation)
        self.lens = lens
        self.focus_point = Vector(focus_point)

    def _reset_view(self):
        scene = bpy.context.scene
        cam = scene.camera
        if cam is not None and cam.type == "CAMERA":
            location = cam.matrix_world.translation.copy()
            rotation = cam.matrix_world.to_euler()
            lens = cam.data.lens if cam.data.type == "PERSP" else DEFAULT_LENS
            self._set_view(location, rotation, lens, self._point_ahead(location, rotation))
            return
        bounds = render_tool.world_bounds(render_tool.visible_geometry(scene))
        centre, radius = bounds if bounds else (Vector((0.0, 0.0, 0.0)), 1.0)
        location = centre + self._fit_distance(
            radius, DEFAULT_LENS
        ) * render_tool.direction_from_angles(45.0, 30.0)
        self._set_view(location, render_tool.look_at_euler(location, centre), DEFAULT_LENS, centre)

    def _point_ahead(self, location, rotation):
        """A focus point along the view direction, at the depth of the scene's centre."""
        forward = rotation.to_quaternion() @ Vector((0.0, 0.0, -1.0))
        bounds = render_tool.world_bounds(render_tool.visible_geometry(bpy.context.scene))
        depth = (bounds[0] - Vector(location)).dot(forward) if bounds else 0.0
        return Vector(location) + forward * (depth if depth > 0.1 else 5.0)

    def _orbit(self, operation, degrees):
        offset = self.location - self.focus_point
        radius = max(offset.length, 1e-3)
        azimuth = math.degrees(math.atan2(offset.y, offset.x))
        elevation = math.degrees(math.asin(max(-1.0, min(1.0, offset.z / radius))))
        # Moving the camera to its right around a target means increasing the azimuth.
        azimuth += {"orbit_right": degrees, "orbit_left": -degrees}.get(operation, 0.0)
        elevation += {"orbit_up": degrees, "orbit_down": -degrees}.get(operation, 0.0)
        elevation = max(-89.0, min(89.0, elevation))  # stay off the poles (look-at flips there)
        location = self.focus_point + radius * render_tool.direction_from_angles(azimuth, elevation)
        self._set_view(
            location,
            render_tool.look_at_euler(location, self.focus_point),
            self.lens,
            self.focus_point,
        )

    def _zoom(self, factor):
        offset = self.location - self.focus_point
        location = self.focus_point + offset / factor
        self._set_view(location, self.rotation, self.lens, self.focus_point)

    def _focus(self, obj):
        centre, radius = render_tool.world_bounds([obj])
        direction = self.location - centre
        if direction.length < 1e-6:
            direction = render_tool.direction_from_angles(45.0, 30.0)
        location = centre + direction.normalized() * self._fit_distance(radius, self.lens)
        self._set_view(location, render_tool.look_at_euler(location, centre), self.lens, centre)

    def _fit_distance(self, radius, lens):
        return render_tool.fit_distance(
            radius, lens, 36.0, render_tool.scene_aspect(bpy.context.scene)
        )

    @staticmethod
    def _valid_lens(lens):
        if lens is None:
            return DEFAULT_LENS
        if not isinstance(lens, (int, float)) or not 1 <= lens <= 5000:
            raise ValueError("lens is a focal length in mm between 1 and 5000 (50 is normal).")
        return float(lens)

    # -- rendering ------------------------------------------------------------------------------

    def _render_current(self, out_dir, label):
        view = (self.location, self.rotation, self.lens)

        def finish(results):
            first = results[0]
            return {
                "ok": True,
                "path": first["path"],
                "camera": first["camera"],
                "note": first.get("note", ""),
            }

        return self._render_views([self._view_spec(view, out_dir, label)], finish)

    def _view_spec(self, view, out_dir, label, path=None):
        """(a render job's view, the pose the model is told): the temporary camera's pose and
        this viewer's visibility (tools/render/process/jobs.py applies both, then undoes them).

        ``view`` None renders through the scene's own camera (``scene.camera``) as it is."""
        path = path or self._next_path(out_dir, label)
        if view is None:
            own = bpy.context.scene.camera
            location, rotation = own.matrix_world.translation, own.matrix_world.to_euler()
            lens, camera = own.data.lens, None
        else:
            location, rotation, lens = view
            camera = {
                "location": [float(v) for v in location],
                "rotation": [float(a) for a in rotation],
                "lens": float(lens),
            }
        spec = {
            "path": path,
            "render": {"preset": "preview", **self.render_options},
            "camera": camera,
            "hidden": sorted(self.hidden),
            "shown": sorted(self.shown),
        }
        pose = {  # + 0.0: no "-0.0" in what the model reads
            "location": [round(v, 3) + 0.0 for v in location],
            "rotation": [round(math.degrees(a), 3) + 0.0 for a in rotation],
            "lens": round(lens, 3),
        }
        return spec, pose

    def _render_views(self, views, finish):
        """Render ``views`` ([(spec, pose)]) through ``self.dispatch``; then ``finish(results)``,
        each result with its "camera" pose, or the first failure as it is."""
        poses = [pose for _, pose in views]

        def done(results):
            for result, pose in zip(results, poses, strict=False):
                if result.get("ok"):
                    result["camera"] = pose
            failed = next((r for r in results if not r.get("ok")), None)
            if failed is not None or len(results) < len(poses):
                return failed or _error("the render process returned no image")
            return finish(results)

        return self.dispatch([spec for spec, _ in views], done)

    @staticmethod
    def dispatch(specs, done):
        """Render here and now (the host replaces this with its render process)."""
        return done([jobs.render_view_spec(spec) for spec in specs])

    def _next_path(self, out_dir, label):
        folder = out_dir or self.out_dir
        if folder is None:
            folder = self.out_dir = tempfile.mkdtemp(prefix="viga_views_")
        os.makedirs(folder, exist_ok=True)
        self._counter += 1
        return os.path.join(folder, f"view_{self._counter:03d}_{label}.png")


# ---------------------------------------------------------------------------------------------
# Module-level default viewer and function API
# ---------------------------------------------------------------------------------------------

default_viewer = Viewer()


def initialize_viewpoint(object_names, count=4, out_dir=None):
    """Render several corner views of the given objects (see Viewer.initialize_viewpoint)."""
    return default_viewer.initialize_viewpoint(object_names, count=count, out_dir=out_dir)


def set_camera(location, rotation=None, look_at=None, lens=None, out_dir=None):
    """Set the viewer's camera and render (see Viewer.set_camera)."""
    return default_viewer.set_camera(
        location, rotation=rotation, look_at=look_at, lens=lens, out_dir=out_dir
    )


def investigate(operation, object_name=None, amount=None, out_dir=None):
    """Orbit, zoom, focus or reset the viewer's camera and render (see Viewer.investigate)."""
    return default_viewer.investigate(
        operation, object_name=object_name, amount=amount, out_dir=out_dir
    )


def set_visibility(show=(), hide=()):
    """Show/hide objects in the viewer's renders only (see Viewer.set_visibility)."""
    return default_viewer.set_visibility(show=show, hide=hide)


# ---------------------------------------------------------------------------------------------
# The generator's render_view: one view per call, no state kept
# ---------------------------------------------------------------------------------------------

NAMED_VIEWS = ("camera", "front", "side", "top")
# (azimuth, elevation) in degrees of the named views other than "camera". Azimuth is measured
# counter-clockwise seen from above: 0 looks from +X, 90 from +Y, -90 from -Y (the front).
NAMED_ANGLES = {"front": (-90.0, 0.0), "side": (0.0, 0.0), "top": (-90.0, 90.0)}
ORBIT_DEFAULTS = (-90.0, 0.0)  # azimuth, elevation when only one of them is given
MAX_DISTANCE = 100_000.0
NO_CAMERA_ANGLES = (45.0, 30.0)  # the framing view render() uses when the scene has no camera


def render_view(
    path: str,
    view: str | None = None,
    azimuth: float | None = None,
    elevation: float | None = None,
    distance: float | None = None,
    around: list[str] | None = None,
    isolate: list[str] | None = None,
    render_options: dict | None = None,
    dispatch=None,
) -> dict:
    """Render one view to ``path`` without changing the scene, and say where it looked from.

    view: "camera" (the photo's camera, ``scene.camera``: the default), "front" (from -Y),
    "side" (from +X) or "top" (from above, +Y up in the image). azimuth/elevation (degrees)
    instead: an orbit view (azimuth 0 from +X, 90 from +Y, -90 from -Y; elevation 90 from
    above, -90 from below). Views other than "camera" look at the centre of the bounding box of
    ``around`` (default: the isolated objects, else every visible object) from ``distance``
    metres (default: far enough to frame it) with a 50 mm lens. isolate: render only these
    objects (and their children); lights and the world stay as they are. ``render_options`` go
    to ``render()`` (long_side, samples, device, engine). ``dispatch``: how the view is rendered
    (``Viewer.dispatch``; the host's sends it to the render process and returns a pending job).

    Returns render()'s result plus "camera" (location, rotation in XYZ degrees, lens), "view"
    (the view's name, and for the others looking_at, distance, azimuth, elevation), "isolated"
    and "text" (the pose in words), or {"ok": False, "error"} naming what to change.
    """
    try:
        request = _view_request(view, azimuth, elevation, distance, around, isolate)
    except ValueError as exc:
        return _error(str(exc))
    isolated, error = _objects_named(request["isolate"])
    if error:
        return _error(f"isolate: {error['error']}")
    targets, error = _objects_named(request["around"])
    if error:
        return _error(f"around: {error['error']}")
    scene = bpy.context.scene
    viewer = Viewer()
    viewer.render_options = dict(render_options or {})
    kept = _with_children(isolated)
    if kept:
        viewer.shown = {o.name for o in kept}
        others = {o.name for o in scene.objects if o.type not in ("LIGHT", "CAMERA")}
        viewer.hidden = others - viewer.shown
    notes = []
    name = request["view"]
    own_camera = scene.camera is not None and scene.camera.type == "CAMERA"
    if name == "camera" and own_camera:
        pose, described = None, {"name": "camera"}
    else:
        if name == "camera":  # no camera to look through: the framing view render() would use
            angles = NO_CAMERA_ANGLES
            notes.append(
                "The scene has no camera: rendered from a raised diagonal framing the objects."
            )
        else:
            angles = request["angles"]
        framed = targets or [o for o in kept if o.type in render_tool.GEOMETRY_TYPES] or kept
        pose, described = _orbit_pose(scene, framed, angles, request["distance"])
        described = {"name": name if name != "camera" else "framing", **described}
    isolated_names = sorted(o.name for o in kept)

    def finish(results):
        result = results[0]
        result["view"] = described
        result["isolated"] = isolated_names
        if notes:
            result["note"] = " ".join(filter(None, [result.get("note", ""), *notes]))
        result["text"] = _describe_view(result)
        return result

    if dispatch is not None:
        viewer.dispatch = dispatch
    return viewer._render_views([viewer._view_spec(pose, None, name, path=path)], finish)


def _view_request(view, azimuth, elevation, distance, around, isolate) -> dict:
    """The checked arguments of render_view, or ValueError with what to send instead."""
    if view is not None and view not in NAMED_VIEWS:
        raise ValueError(
            f"view must be one of {', '.join(NAMED_VIEWS)} (got {view!r}); for any other "
            "direction give azimuth and elevation in degrees instead."
        )
    orbit = azimuth is not None or elevation is not None
    if orbit and view is not None:
        examples = "; ".join(
            f"{n} is azimuth {a:g}, elevation {e:g}" for n, (a, e) in NAMED_ANGLES.items()
        )
        raise ValueError(f"Give either view or azimuth/elevation, not both ({examples}).")
    for key, value in (("azimuth", azimuth), ("elevation", elevation), ("distance", distance)):
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            raise ValueError(f"{key} must be a number, got {value!r}.")
    if elevation is not None and not -90 <= elevation <= 90:
        raise ValueError(
            "elevation must be between -90 (from below) and 90 (from above) degrees, got "
            f"{elevation!r}."
        )
    if distance is not None and not 0 < distance <= MAX_DISTANCE:
        raise ValueError(
            f"distance must be a positive number of metres (at most {MAX_DISTANCE:g}), got "
            f"{distance!r}; leave it out to frame the objects."
        )
    name = view or ("orbit" if orbit or distance is not None or around else "camera")
    if name == "camera" and (distance is not None or around):
        raise ValueError(
            "view 'camera' is the photo's camera as it is: distance and around apply to the "
            "front, side and top views and to azimuth/elevation."
        )
    lists = {}
    for key, value in (("around", around), ("isolate", isolate)):
        if isinstance(value, str):
            value = [value]
        if value is not None and (
            not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value)
        ):
            raise ValueError(f"{key} must be a list of object names, got {value!r}.")
        lists[key] = list(value or [])
    if name in NAMED_ANGLES:
        angles = NAMED_ANGLES[name]
    else:
        angles = (
            float(ORBIT_DEFAULTS[0] if azimuth is None else azimuth),
            float(ORBIT_DEFAULTS[1] if elevation is None else elevation),
        )
    return {"view": name, "angles": angles, "distance": distance, **lists}


def _with_children(objects):
    """The objects and all their descendants, without repeats, in scene order."""
    names = set()
    for obj in objects:
        names.add(obj.name)
        names.update(child.name for child in obj.children_recursive)
    return [o for o in bpy.context.scene.objects if o.name in names]


def _orbit_pose(scene, objects, angles, distance):
    """(location, rotation, lens) looking at the bounding box centre of ``objects`` from the
    given azimuth/elevation, and the view described in numbers."""
    bounds = render_tool.world_bounds(objects or render_tool.visible_geometry(scene))
    centre, radius = bounds if bounds else (Vector((0.0, 0.0, 0.0)), 1.0)
    if distance is None:
        distance = render_tool.fit_distance(
            radius, DEFAULT_LENS, 36.0, render_tool.scene_aspect(scene)
        )
    azimuth, elevation = angles
    location = centre + distance * render_tool.direction_from_angles(azimuth, elevation)
    if abs(elevation) > 89.9:
        # straight above or below, look-at has no "up": turn the image so that the side facing
        # the azimuth is at the bottom, as it is when coming from just off the pole
        roll = math.radians(azimuth + 90.0)
        rotation = Euler((0.0 if elevation > 0 else math.pi, 0.0, roll))
    else:
        rotation = render_tool.look_at_euler(location, centre)
    described = {
        "looking_at": [round(v, 3) + 0.0 for v in centre],
        "distance": round(float(distance), 3),
        "azimuth": round(float(azimuth), 3),
        "elevation": round(float(elevation), 3),
    }
    return (location, rotation, DEFAULT_LENS), described


def _describe_view(result: dict) -> str:
    camera, view = result["camera"], result["view"]
    name = view["name"]
    where = {"camera": "through the photo's camera (the scene camera)", "orbit": "from an orbit"}
    text = (
        f"Rendered {where.get(name, f'from the {name} view')}: camera at "
        f"{camera['location']} m, rotation {camera['rotation']} (XYZ degrees), lens "
        f"{camera['lens']} mm"
    )
    if "looking_at" in view:
        text += (
            f", looking at {view['looking_at']} from {view['distance']} m (azimuth "
            f"{view['azimuth']}, elevation {view['elevation']} degrees)"
        )
    if result["isolated"]:
        text += f". Only these objects were rendered: {', '.join(result['isolated'])}"
    return text + ". The scene, its camera and visibility are unchanged."


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _error(message):
    return {"ok": False, "error": message}


def _name_list(names):
    if isinstance(names, str):
        return [names]
    return [str(n) for n in (names or ())]


def _objects_named(names):
    """(objects, None) when every name is an object in the scene, else (None, error dict)."""
    scene_objects = bpy.context.scene.objects
    objects = []
    for name in _name_list(names):
        obj = scene_objects.get(name)
        if obj is None:
            return None, _error(
                f"No object named {name!r}. Objects in the scene: {_names_listing(scene_objects)}."
            )
        objects.append(obj)
    return objects, None


def _names_listing(scene_objects):
    names = sorted(o.name for o in scene_objects if o.name != TEMP_CAMERA_NAME)
    if not names:
        return "none"
    shown = ", ".join(names[:NAMES_LISTED])
    more = len(names) - NAMES_LISTED
    return shown + (f" (and {more} more)" if more > 0 else "")


def _vector3(value, what):
    try:
        values = [float(v) for v in value]
    except (TypeError, ValueError):
        values = []
    if len(values) != 3 or not all(math.isfinite(v) for v in values):
        raise ValueError(f"{what} must be three numbers [x, y, z].")
    return Vector(values)
