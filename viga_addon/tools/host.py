"""BlenderHost: the agent's only way into Blender — ``call(tool_name, args) -> dict``.

Runs on Blender's main thread (the session is pumped from there). Every result is a JSON-ready
dict with ``ok``; failures come back as ``{"ok": False, "error": ...}``, never as exceptions,
so a bad tool call from the model becomes a message the model can act on.

Renders and refinements can also run in the render process (``render_process=True``): then
``start(tool, args)`` writes the scene file, sends the job and returns ``{"ok": True,
"pending": token}`` at once, and ``poll(token)`` returns None until the result is there (a
refinement's best values are applied then, in one short step). ``call`` stays synchronous and
in-process. When the process cannot start, ``start`` renders in-process and says so in
``warnings``.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import platform
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import bpy

from ..common import metrics
from .code import execute
from .physics import bake_job
from .render import engine as render
from .render import viewing
from .render.process import client as render_client
from .render.process import jobs
from .scene import file as scene_file
from .scene import info as scene_info
from .snapshot import store as snapshot

RENDER_TIMEOUT = 300.0  # seconds a render may take (in the render process: then it is killed)
# the host's tools by name: each ``tool_<name>`` method marked ``@host_tool`` (a new host tool is
# one such method; whether it renders in the render process is its own choice, see ``_defer``)
HOST_TOOLS: dict[str, Callable[..., dict]] = {}


def host_tool(method: Callable[..., dict]) -> Callable[..., dict]:
    HOST_TOOLS[method.__name__.removeprefix("tool_")] = method
    return method


FALLBACK_WARNING = (
    "The render process could not start ({reason}); rendering inside Blender instead, "
    "which keeps Blender busy while each render runs."
)


@dataclass
class Deferred:
    """A render job and what turns its reply into the tool's result (on the main thread)."""

    job: dict
    finish: Callable[[dict], dict]
    time_limit: float | None = None


@contextlib.contextmanager
def render_time_limit(seconds):
    """Cap Cycles' sampling time (``cycles.time_limit``) for one render, whatever the scene or
    the model's code set; the scene's own value comes back afterwards.

    Headless Blender has no way to cancel a running ``render.render`` from Python (no timers,
    no job cancel): Cycles' own time limit is the bound. It stops sampling, so scene sync and
    BVH build of huge geometry are not bounded by it; EEVEE has no equivalent (its samples are
    bounded by the render preset)."""
    cycles = getattr(bpy.context.scene, "cycles", None)
    if not seconds or cycles is None or not hasattr(cycles, "time_limit"):
        yield
        return
    old = cycles.time_limit
    cycles.time_limit = float(seconds)
    try:
        yield
    finally:
        scene_cycles = getattr(bpy.context.scene, "cycles", None)
        if scene_cycles is not None:
            scene_cycles.time_limit = old


class BlenderHost:
    def __init__(
        self,
        render_device="auto",
        engine="CYCLES",
        preview_size=256,
        preview_samples=16,
        checker=None,
        code_timeout=execute.DEFAULT_TIMEOUT,
        render_timeout=RENDER_TIMEOUT,
        render_process=False,
    ):
        self.render_device = render_device
        self.engine = engine
        # An extra refusal hook run before the built-in policy (tools/code/policy/), which is
        # always on: there is no way to run model code around it.
        self.checker = checker
        self.code_timeout = code_timeout
        self.render_timeout = render_timeout
        self.view_options = {
            "long_side": preview_size,
            "samples": preview_samples,
            "device": render_device,
            "engine": engine,
        }
        self._deferring = False
        self._jobs: dict[str, Deferred] = {}
        self.warnings: list[str] = []  # for the artist: e.g. the render process fallback
        self.last_job: dict = {}  # timing of the last job: write, load, render, total seconds
        self.process: render_client.RenderProcess | None = None
        if render_process:
            command = render_client.worker_command(bpy.app.binary_path)
            self.process = render_client.RenderProcess(command)
            if not self.process.usable:
                self._fall_back(self.process.start_error)
        self.viewer = self._new_viewer()
        self._undo_stack: list[snapshot.Checkpoint] = []
        self.bake_timeout = bake_job.BAKE_TIMEOUT
        # an edit run's limits (scope.EditLimits): what execute_code may not touch
        self.edit_limits = None

    @property
    def tools(self) -> dict[str, Callable[..., dict]]:
        """The tools the agent may call, by name (the host's whole interface)."""
        return {name: method.__get__(self) for name, method in HOST_TOOLS.items()}

    def _new_viewer(self):
        viewer = viewing.Viewer()
        viewer.render_options = dict(self.view_options)
        viewer.dispatch = self._dispatch_views
        return viewer

    # ---------------------------------------------------------------- the render process
    def start(self, name: str, args: dict | None = None) -> dict:
        """Run ``name`` like ``call``, but a tool that renders (it hands ``_defer`` a job) only
        starts: its result is ``{"ok": True, "pending": token}`` for ``poll`` (or the result
        itself when it ran here, or when the tool does not render)."""
        if self.process is None:
            return self.call(name, args)
        self._deferring = True
        try:
            result = self.call(name, args)
        finally:
            self._deferring = False
        if not isinstance(result, Deferred):
            return result
        if not self.process.usable:
            return self._run_here(result)
        t0 = time.perf_counter()
        blend = self.process.job_path(name)
        try:
            scene_file.write_scene(blend)
        except Exception as exc:
            return {"ok": False, "error": f"{name}: could not write the scene for rendering: {exc}"}
        token = self.process.submit({**result.job, "blend": blend}, result.time_limit)
        self._jobs[token] = result
        self.last_job = {"write_seconds": time.perf_counter() - t0, "started": time.monotonic()}
        return {"ok": True, "pending": token}

    def poll(self, token: str) -> dict | None:
        """The result of the started tool ``token``, or None while it runs. Never raises."""
        deferred = self._jobs.get(token)
        if deferred is None:
            return {"ok": False, "error": f"no render job {token!r} is running"}
        reply = self.process.poll() if self.process is not None else None
        if reply is None:
            return None
        del self._jobs[token]
        if reply.get("start_failed"):
            self._fall_back(reply.get("error"))
            return self._run_here(deferred)
        self.last_job.update(
            load_seconds=reply.get("load_seconds"),
            job_seconds=reply.get("seconds"),
            total_seconds=time.monotonic() - self.last_job.get("started", time.monotonic()),
        )
        try:
            return deferred.finish(reply)
        except Exception as exc:
            return {"ok": False, "error": f"render result failed: {type(exc).__name__}: {exc}"}

    def cancel(self) -> None:
        """Stop any started job (its process is killed; the next job starts a fresh one)."""
        self._jobs.clear()
        if self.process is not None:
            self.process.cancel()

    def close(self, wait: bool = True) -> None:
        """End the render process (when the run ends, is cancelled, or Blender quits) and drop
        the undo checkpoints (their temporary files); ``wait=False``: without waiting for the
        process to exit."""
        self._jobs.clear()
        self._forget_undo()
        if self.process is not None:
            self.process.close(wait=wait)

    def _fall_back(self, reason: str | None) -> None:
        warning = FALLBACK_WARNING.format(reason=reason or "unknown reason")
        if warning not in self.warnings:
            self.warnings.append(warning)

    def _run_here(self, deferred: Deferred) -> dict:
        with render_time_limit(self.render_timeout):
            reply = jobs.run_job(deferred.job)
        return deferred.finish(reply)

    def _defer(
        self,
        job: dict,
        finish: Callable[[dict], dict],
        device: str | None = None,
        time_limit: float | None = None,
    ):
        """The job as a Deferred while ``start`` asks, else its result, rendered here now."""
        job = {**job, "device": render.choose_device(device or self.render_device)}
        views = len(job.get("views") or ()) or 1
        limit = time_limit or (self.render_timeout and self.render_timeout * views)
        deferred = Deferred(job, finish, limit)
        return deferred if self._deferring else self._run_here(deferred)

    def _dispatch_views(self, specs: list[dict], done: Callable[[list[dict]], dict]):
        def finish(reply: dict) -> dict:
            if "results" not in reply:
                return {"ok": False, "error": reply.get("error") or "the render failed"}
            return done(reply["results"])

        device = (specs[0].get("render") or {}).get("device") if specs else None
        return self._defer({"kind": "render", "views": specs}, finish, device)

    def call(self, name: str, args: dict | None = None) -> dict:
        """Run the host tool ``name`` with ``args``; never raises (failures are results)."""
        handler = self.tools.get(name)
        if handler is None:
            return {"ok": False, "error": f"unknown host tool {name!r}"}
        args = dict(args or {})
        try:
            inspect.signature(handler).bind(**args)
        except TypeError as e:
            return {"ok": False, "error": f"{name}: bad arguments ({e})"}
        try:
            return handler(**args)
        except Exception as e:  # a tool bug must not take the run down
            tb = traceback.format_exc(limit=4)
            return {"ok": False, "error": f"{name} failed: {type(e).__name__}: {e}", "detail": tb}

    # ---------------------------------------------------------------- facts
    @host_tool
    def tool_blender_info(self) -> dict:
        """The running Blender, for the system prompts: ``version`` ("5.2.3") is what
        ``Stage.system_prompt(role, blender_version=...)`` takes."""
        return {
            "ok": True,
            "version": ".".join(str(part) for part in bpy.app.version),
            "version_tuple": list(bpy.app.version),
            "version_string": bpy.app.version_string,
            "python": platform.python_version(),
            "background": bool(bpy.app.background),
        }

    # ---------------------------------------------------------------- scene lifecycle
    @host_tool
    def tool_setup_scene(self, width: int, height: int, final_size: int = 1024) -> dict:
        """Give the scene the photo's aspect ratio (long side ``final_size``)."""
        scene = bpy.context.scene
        scale = final_size / max(width, height)
        scene.render.resolution_x = max(4, round(width * scale))
        scene.render.resolution_y = max(4, round(height * scale))
        scene.render.resolution_percentage = 100
        return {"ok": True, "resolution": [scene.render.resolution_x, scene.render.resolution_y]}

    @host_tool
    def tool_reset_scene(self) -> dict:
        """An empty scene for the init rollouts: every object and its data go, settings stay."""
        scene = bpy.context.scene
        removed = len(scene.objects)
        for obj in list(scene.objects):
            bpy.data.objects.remove(obj, do_unlink=True)
        for coll in list(scene.collection.children_recursive):
            bpy.data.collections.remove(coll)
        for block in (
            bpy.data.meshes,
            bpy.data.materials,
            bpy.data.lights,
            bpy.data.cameras,
            bpy.data.curves,
        ):
            for item in list(block):
                if item.users == 0:
                    block.remove(item)
        return {"ok": True, "removed_objects": removed}

    @host_tool
    def tool_object_names(self) -> dict:
        return {"ok": True, "names": [o.name for o in bpy.context.scene.objects]}

    @host_tool
    def tool_save_blend(self, path: str) -> dict:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.tmp.blend")
        scene_file.write_scene(str(tmp))  # the run's scene alone, without a thumbnail to draw
        os.replace(tmp, path)
        return {"ok": True, "path": str(path)}

    @host_tool
    def tool_write_scene_py(self, path: str, check: bool = True) -> dict:
        from .scene import export as scene_export

        return scene_export.write_scene_py(path, check=check)

    # ---------------------------------------------------------------- snapshots
    @host_tool
    def tool_snapshot(self, path: str) -> dict:
        p = Path(path)
        return snapshot.snapshot(p.stem, p.parent)

    @host_tool
    def tool_restore(self, path: str) -> dict:
        self._forget_undo()
        return snapshot.restore(path)

    def _forget_undo(self):
        for handle in self._undo_stack:
            handle.discard()
        self._undo_stack.clear()

    # ---------------------------------------------------------------- generator tools
    @host_tool
    def tool_execute_code(self, code: str, scope: list | None = None) -> dict:
        """Run model code under the policy; changes outside ``scope`` (the stage's scopes,
        stages.base.SCOPES names) roll the whole call back. The only path model code takes."""
        if scope is not None and (
            not isinstance(scope, (list, tuple)) or not all(isinstance(s, str) for s in scope)
        ):
            return {"ok": False, "error": "execute_code: scope must be a list of scope names"}
        if self.edit_limits is not None:
            from ..stages.base import SCOPES as SCOPES_ALL
            from .scene.scope import LimitedScope

            scope = LimitedScope(SCOPES_ALL if scope is None else scope, self.edit_limits)
        handle = snapshot.checkpoint()
        result = execute.execute_code(
            code, checker=self.checker, saved=handle, scope=scope, timeout=self.code_timeout
        )
        if result.get("ok"):
            self._undo_stack.append(handle)
        else:
            handle.discard()
        return result

    @host_tool
    def tool_refine_parameters(
        self,
        targets,
        photo: str,
        budget: int = 30,
        objects: list | None = None,
        allowed_groups: list | None = None,
        out_dir: str | None = None,
    ) -> dict:
        """Numeric render-and-compare refinement (tools/refine/steps.py); undoable with revert_last.
        The search runs on its own copy of the scene (in the render process); only its best
        values come back and are applied here."""
        from .refine import steps as refine

        handle = snapshot.checkpoint()
        job = {
            "kind": "refine",
            "refine": {
                "targets": targets,
                "budget": budget,
                "photo": photo,
                "objects": objects,
                "allowed_groups": allowed_groups,
                "device": self.render_device,
                "workdir": out_dir,
            },
        }

        def finish(reply: dict) -> dict:
            result = reply.get("result") or {"ok": False, "error": reply.get("error")}
            if result.get("ok") and result.get("improved"):
                try:
                    before = self._limits_before()
                    jobs.apply_values(reply.get("values") or {})
                    self._check_limits(before)
                except ValueError as exc:
                    snapshot.rollback(handle)
                    handle.discard()
                    return {"ok": False, "error": str(exc)}
                self._undo_stack.append(handle)
            else:
                handle.discard()
            result.pop("history", None)
            result["text"] = refine.summary(result)
            return result

        return self._defer(job, finish)

    @host_tool
    def tool_revert_last(self) -> dict:
        if not self._undo_stack:
            return {
                "ok": False,
                "error": "nothing to revert: no successful execute_code call since the round began",
            }
        handle = self._undo_stack.pop()
        result = snapshot.rollback(handle)
        handle.discard()
        return {**result, "text": "Reverted the last successful execute_code call."}

    @host_tool
    def tool_get_scene_info(self, max_chars: int = 4000) -> dict:
        return scene_info.get_scene_info(max_chars=max_chars)

    @host_tool
    def tool_render(
        self,
        path: str,
        preset: str = "preview",
        long_side: int | None = None,
        samples: int | None = None,
        device: str | None = None,
        engine: str | None = None,
    ) -> dict:
        view = {
            "path": os.path.abspath(path),
            "render": {
                "preset": preset,
                "engine": engine or self.engine,
                "device": device or self.render_device,
                "long_side": long_side,
                "samples": samples,
            },
        }

        def finish(reply: dict) -> dict:
            results = reply.get("results") or [{"ok": False, "error": reply.get("error")}]
            return results[0]

        return self._defer({"kind": "render", "views": [view]}, finish, device)

    @host_tool
    def tool_render_view(
        self,
        path: str,
        view: str | None = None,
        azimuth: float | None = None,
        elevation: float | None = None,
        distance: float | None = None,
        around: list | None = None,
        isolate: list | None = None,
        long_side: int | None = None,
        samples: int | None = None,
        device: str | None = None,
        engine: str | None = None,
    ) -> dict:
        """The generator's render_view: the photo's camera, a named view or an orbit, and
        optionally only some objects (tools/render/viewing.render_view); the scene is not changed."""
        given = {"long_side": long_side, "samples": samples, "device": device, "engine": engine}
        options = {**self.view_options, **{k: v for k, v in given.items() if v is not None}}
        return viewing.render_view(
            path,
            view=view,
            azimuth=azimuth,
            elevation=elevation,
            distance=distance,
            around=around,
            isolate=isolate,
            render_options=options,
            dispatch=self._dispatch_views,
        )

    @host_tool
    def tool_check_physics(self, out_dir: str | None = None, pictures: bool = True) -> dict:
        """The settle check of the scene as it is (tools/physics/tool.py), in the render process
        like a render; the scene is not changed. ``pictures``: frames 0 and 48 into ``out_dir``."""
        from .physics import tool as physics_tool

        render = {k: v for k, v in self.view_options.items() if k != "device"}
        spec = physics_tool.job(out_dir, pictures, render)
        return self._defer(spec, lambda reply: physics_tool.finish(reply, out_dir))

    # ---------------------------------------------------------------- interactions
    @host_tool
    def tool_prepare_physics(self, frames: int, fps: int = 24) -> dict:
        """Rigid bodies and their world for ``frames`` frames (tools/physics/event.prepare)."""
        from .physics import event

        return {"ok": True, "added": event.prepare(bpy.context.scene, int(frames), int(fps))}

    @host_tool
    def tool_bake_simulation(self, out_dir: str, frames: int, cap: int, **options) -> dict:
        """Bake ``frames`` frames (never past ``cap``) in the render process, stopped past
        ``bake_timeout`` like a render: frames, trajectories, contact sheet (physics/bake_job)."""
        view = bake_job.view(self.engine, self.render_device, options)
        job = bake_job.job(out_dir, frames, cap, view, **options)
        if isinstance(job, str):
            return {"ok": False, "error": job}
        limit = bake_job.time_limit(self.bake_timeout, job)
        return self._defer(job, bake_job.finisher(options.get("sheet")), view["device"], limit)

    # ---------------------------------------------------------------- verifier tools
    @host_tool
    def tool_initialize_viewpoint(self, object_names: list, out_dir: str | None = None) -> dict:
        return self.viewer.initialize_viewpoint(object_names, out_dir=out_dir)

    @host_tool
    def tool_set_camera(
        self,
        location: list,
        rotation: list | None = None,
        look_at: list | None = None,
        lens: float | None = None,
        out_dir: str | None = None,
    ) -> dict:
        return self.viewer.set_camera(
            location, rotation=rotation, look_at=look_at, lens=lens, out_dir=out_dir
        )

    @host_tool
    def tool_investigate(
        self,
        operation: str,
        object_name: str | None = None,
        amount: float | None = None,
        out_dir: str | None = None,
    ) -> dict:
        return self.viewer.investigate(
            operation, object_name=object_name, amount=amount, out_dir=out_dir
        )

    @host_tool
    def tool_set_visibility(self, show: list | None = None, hide: list | None = None) -> dict:
        return self.viewer.set_visibility(show=show or [], hide=hide or [])

    @host_tool
    def tool_reset_view(self) -> dict:
        self.viewer = self._new_viewer()
        return {"ok": True}

    # ---------------------------------------------------------------- edit runs
    @host_tool
    def tool_load_start_scene(self, path: str) -> dict:
        """Open the .blend an edit run starts from; it is only read (snapshots and
        final.blend are written as copies elsewhere)."""
        from .scene import graph as scene_graph

        return scene_graph.load_start_scene(path, self)

    @host_tool
    def tool_describe_start_scene(
        self,
        lock_objects: list | None = None,
        lock_collection: str | None = None,
        allow_add_remove: bool = False,
    ) -> dict:
        """The current scene's graph, object names and edit limits (scope.EditLimits)."""
        from .scene import graph as scene_graph

        return scene_graph.describe(lock_objects, lock_collection, allow_add_remove)

    def _limits_before(self):
        """A capture to check the edit limits against (None when the run has none)."""
        if self.edit_limits is None:
            return None
        from .scene import fingerprint

        return fingerprint.capture()

    def _check_limits(self, before) -> None:
        """ValueError (the caller rolls back) when what changed since ``before`` touches what
        the edit limits lock: the refiner's values go through the same check as model code."""
        if before is None:
            return
        from .scene import graph as scene_graph

        message = scene_graph.limit_message(before, self.edit_limits)
        if message:
            raise ValueError(f"Refused: {message}")

    @host_tool
    def tool_set_edit_limits(self, limits: dict | None = None) -> dict:
        from .scene.scope import EditLimits

        self.edit_limits = EditLimits.from_json(limits) if limits is not None else None
        return {"ok": True}

    # ---------------------------------------------------------------- metrics
    @host_tool
    def tool_compare(self, render: str, photo: str) -> dict:
        return metrics.compare(render, photo)
