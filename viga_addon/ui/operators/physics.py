"""The Physics panel's buttons: Check Physics (the settle check of the open scene) and Apply
Rigid Bodies.

``viga.check_physics`` runs tools/physics' settle check in the background render process, as
the Refine button does (operators/refine.py): the scene is written to a job file, the process
checks its own copy, and the modal timer only polls, so Blender's main thread never simulates.
ESC (or Stop) abandons the job; the artist's scene is never touched by the check. The result
(the summary line "stable 5/6 · red_ball floats 3.0 cm" and per object its verdict, motion and
the rigid body it would get) is kept per scene in ``RESULTS`` for the panel. When the process
cannot start, the check runs here on a copy of the scene (the report says so); headless,
``execute`` runs it here too.

``viga.apply_rigid_bodies`` gives the scene the rigid bodies of its last check (role, collision
shape, mass; the rigid-body world from the current frame), in one undo step. The render
processes are refine's (``refine.render_process``): one idle process serves either button.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import bpy

from .. import live as rt
from . import refine as refine_op

SECONDS = 2.0
FPS = 24
TIME_LIMIT = 120.0  # seconds the render process may take for one check


@dataclass
class PhysicsJob:
    """One check in progress (module state: Python objects cannot live in bpy props)."""

    scene: str
    process: object = None  # the RenderProcess running it
    started: float = 0.0
    warning: str = ""  # why it ran here rather than in the render process
    reply: dict | None = None
    timer: object = None

    def step(self) -> bool:
        """True once the reply is there (never blocks)."""
        reply = self.process.poll()
        if reply is None:
            return False
        if reply.get("start_failed"):
            self.run_here(reply.get("error"))
        else:
            self.reply = reply
        return True

    def run_here(self, reason: str | None = None) -> None:
        """The check in this process, on a copy of the scene (the fallback)."""
        from ...tools.host import FALLBACK_WARNING
        from ...tools.physics import run_job

        if reason is not None:
            self.warning = FALLBACK_WARNING.format(reason=reason)
        self.process = None
        scene = bpy.data.scenes.get(self.scene)
        with bpy.context.temp_override(scene=scene) if scene else contextlib.nullcontext():
            self.reply = run_job(_request())


JOBS: dict[str, PhysicsJob] = {}
RESULTS: dict[str, dict] = {}  # scene name -> the last check (tools/physics/tool.finish)


def job_for(scene) -> PhysicsJob | None:
    return JOBS.get(scene.name)


def result_for(scene) -> dict | None:
    return RESULTS.get(scene.name)


def _request() -> dict:
    return {"kind": "physics", "seconds": SECONDS, "fps": FPS, "write_blend": False}


def start_job(op, context, here: bool = False) -> PhysicsJob | None:
    """Start a check of the scene: in the render process, or here when ``here`` or when no
    process can start. None (with an error report) when it cannot start at all."""
    from ...tools.scene import file as scene_file

    scene = context.scene
    if job_for(scene) is not None:
        op.report({"ERROR"}, "A physics check is already running in this scene.")
        return None
    job = PhysicsJob(scene.name, started=time.monotonic())
    JOBS[job.scene] = job
    if here:
        job.run_here()
        return job
    process = refine_op.render_process()
    if not process.usable:
        job.run_here(process.start_error)
        return job
    blend = process.job_path("physics")
    try:
        scene_file.write_scene(blend, scene)
    except Exception as exc:
        JOBS.pop(job.scene, None)
        op.report({"ERROR"}, f"Could not write the scene for the render process: {exc}")
        return None
    job.process = process
    process.submit({**_request(), "blend": blend}, time_limit=TIME_LIMIT)
    return job


def finish_job(op, job: PhysicsJob) -> set:
    """Keep the result for the panel and report the summary line."""
    from ...tools.physics import tool as physics_tool

    JOBS.pop(job.scene, None)
    result = physics_tool.finish(job.reply or {"ok": False, "error": "no reply"})
    if result.get("ok"):
        report = (job.reply or {}).get("physics") or {}
        result["bodies"] = {
            name: {k: o.get(k) for k in ("role", "shape", "mass_kg")}
            for name, o in (report.get("objects") or {}).items()
            if o.get("role") in ("active", "passive")
        }
        result["seconds_taken"] = round(time.monotonic() - job.started, 3)
        result["warning"] = job.warning
        RESULTS[job.scene] = result
    if not result.get("ok"):
        op.report({"ERROR"}, f"Physics check failed: {result.get('error')}")
        return {"CANCELLED"}
    text = " ".join(filter(None, [result["summary"], job.warning]))
    op.report({"WARNING"} if job.warning else {"INFO"}, text)
    return {"FINISHED"}


def abandon_job(job: PhysicsJob) -> None:
    JOBS.pop(job.scene, None)
    if job.process is not None:
        job.process.cancel()


def shutdown() -> None:
    """Abandon every check (a file load, the add-on disabled); the processes are refine's."""
    for job in list(JOBS.values()):
        abandon_job(job)
    RESULTS.clear()


@bpy.app.handlers.persistent
def on_load_pre(*_args):
    shutdown()


class VIGA_OT_check_physics(bpy.types.Operator):
    """Drop the scene under gravity for 2 s (rigid bodies, in the background) and say which
    objects float, are sunk into another, slide or tip; the scene is not changed"""

    bl_idname = "viga.check_physics"
    bl_label = "Check Physics"

    @classmethod
    def poll(cls, context):
        return context.scene is not None and job_for(context.scene) is None

    def execute(self, context):
        job = start_job(self, context, here=True)
        return {"CANCELLED"} if job is None else finish_job(self, job)

    def invoke(self, context, event):
        if context.window is None:
            return self.execute(context)
        job = start_job(self, context)
        if job is None:
            return {"CANCELLED"}
        if job.reply is not None:  # ran here (no render process)
            return finish_job(self, job)
        self._job = job
        wm = context.window_manager
        job.timer = wm.event_timer_add(rt.TICK_SECONDS, window=context.window)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def _end(self, context) -> None:
        job = self._job
        if job.timer is not None:
            try:
                context.window_manager.event_timer_remove(job.timer)
            except Exception:  # already gone (window closed)
                pass
            job.timer = None
        rt.redraw(context)

    def modal(self, context, event):
        job = getattr(self, "_job", None)
        if job is None:
            return {"CANCELLED"}
        if JOBS.get(job.scene) is not job:  # stopped, or abandoned by a file load
            self._end(context)
            return {"CANCELLED"}
        if event.type == "ESC" and event.value == "PRESS":
            abandon_job(job)
            self._end(context)
            self.report({"WARNING"}, "Physics check stopped")
            return {"CANCELLED"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        try:
            done = job.step()
        except Exception as exc:
            abandon_job(job)
            self._end(context)
            self.report({"ERROR"}, f"Physics check failed: {exc}")
            return {"CANCELLED"}
        if not done:
            return {"RUNNING_MODAL"}
        self._end(context)
        return finish_job(self, job)

    def cancel(self, context):
        job = getattr(self, "_job", None)
        if job is not None and JOBS.get(job.scene) is job:
            abandon_job(job)
            self._end(context)


class VIGA_OT_physics_stop(bpy.types.Operator):
    """Stop the physics check (the scene was never changed)"""

    bl_idname = "viga.physics_stop"
    bl_label = "Stop Physics Check"

    @classmethod
    def poll(cls, context):
        return context.scene is not None and job_for(context.scene) is not None

    def execute(self, context):
        abandon_job(job_for(context.scene))
        rt.redraw(context)
        return {"FINISHED"}


def apply_bodies(scene, bodies: dict, frames: int) -> list[str]:
    """Give ``scene``'s objects the rigid bodies ``bodies`` names (role, shape, mass); returns
    the names given one. Parented active objects are unparented where they are (a parented
    rigid body is not simulated where it appears)."""
    from ...tools.physics import setup

    specs = []
    for name, body in bodies.items():
        obj = scene.objects.get(name)
        if obj is None or obj.type != "MESH" or body.get("role") not in ("active", "passive"):
            continue
        specs.append(setup.BodySpec(obj, body["role"], body["shape"], body.get("mass_kg") or 1.0))
    setup.detach([s.obj for s in specs if s.role == "active"])
    setup.add_rigid_bodies(scene, specs, scene.frame_current, frames)
    return [s.obj.name for s in specs]


class VIGA_OT_apply_rigid_bodies(bpy.types.Operator):
    """Give every object the rigid body of the last physics check (passive supports, active
    objects with a fitting collision shape and mass); Ctrl+Z undoes it"""

    bl_idname = "viga.apply_rigid_bodies"
    bl_label = "Apply Rigid Bodies"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        if context.scene is None or job_for(context.scene) is not None:
            return False
        return bool((result_for(context.scene) or {}).get("bodies"))

    def execute(self, context):
        result = result_for(context.scene)
        try:
            names = apply_bodies(context.scene, result["bodies"], round(SECONDS * FPS))
        except Exception as exc:
            self.report({"ERROR"}, f"Could not apply rigid bodies: {exc}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"Rigid bodies on {len(names)} object(s); play to simulate")
        return {"FINISHED"}


CLASSES = (VIGA_OT_check_physics, VIGA_OT_physics_stop, VIGA_OT_apply_rigid_bodies)
