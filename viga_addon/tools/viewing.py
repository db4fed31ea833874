"""Verifier tools for looking around the scene without changing it.

The viewer keeps its own view (camera location, rotation, lens, focus point) and its own
shown/hidden sets in a ``Viewer`` object. They are applied only while rendering: a temporary
camera object is created, objects' ``hide_render`` flags are switched, ``render()`` runs, and
everything is removed or put back, so the scene's cameras, ``scene.camera`` and every object's
visibility are exactly as before each call.
"""

import math
import os
import tempfile

import bpy
from mathutils import Euler, Vector

from . import render as render_tool

OPERATIONS = (
    "orbit_left",
    "orbit_right",
    "orbit_up",
    "orbit_down",
    "zoom_in",
    "zoom_out",
    "focus",
    "reset",
)
DEFAULT_ORBIT_DEGREES = 30.0
DEFAULT_ZOOM_FACTOR = 1.5
DEFAULT_LENS = 50.0
NAMES_LISTED = 30
TEMP_CAMERA_NAME = "viga_viewer_camera"


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
        images = []
        for index in range(count):
            azimuth = 45.0 + index * 360.0 / count
            location = centre + distance * render_tool.direction_from_angles(azimuth, 35.0)
            view = (location, render_tool.look_at_euler(location, centre), DEFAULT_LENS)
            result = self._render(view, out_dir, f"viewpoint_{index + 1}")
            if not result["ok"]:
                return result
            images.append({"path": result["path"], "camera": result["camera"]})
        first = centre + distance * render_tool.direction_from_angles(45.0, 35.0)
        self._set_view(first, render_tool.look_at_euler(first, centre), DEFAULT_LENS, centre)
        return {
            "ok": True,
            "images": images,
            "note": "The first image is now the current view for investigate().",
        }

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
        result = self._render((self.location, self.rotation, self.lens), out_dir, label)
        if not result["ok"]:
            return result
        return {
            "ok": True,
            "path": result["path"],
            "camera": result["camera"],
            "note": result.get("note", ""),
        }

    def _render(self, view, out_dir, label):
        """Render through a temporary camera with the viewer's visibility, then undo both."""
        location, rotation, lens = view
        scene = bpy.context.scene
        path = self._next_path(out_dir, label)
        camera = None
        switched = []  # (object, previous hide_render)
        try:
            camera = render_tool.add_camera_object(
                scene, TEMP_CAMERA_NAME, location, rotation, lens
            )
            for obj in scene.objects:
                want_hidden = (
                    obj.name in self.hidden or obj.hide_render
                ) and obj.name not in self.shown
                if obj is not camera and obj.hide_render != want_hidden:
                    switched.append((obj, obj.hide_render))
                    obj.hide_render = want_hidden
            result = render_tool.render(
                "preview", path=path, camera=camera.name, **self.render_options
            )
        finally:
            for obj, previous in switched:
                obj.hide_render = previous
            if camera is not None:
                render_tool.remove_camera_object(camera)
        if not result["ok"]:
            return result
        result["camera"] = {
            "location": [round(v, 3) for v in location],
            "rotation": [round(math.degrees(a), 3) for a in rotation],
            "lens": round(lens, 3),
        }
        return result

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
