"""The panel's Refine button: numeric render-and-compare refinement of the open scene.

``viga.refine`` refines the groups chosen in the panel (``scene.viga``: lighting, material,
placement, camera; optionally only the selected objects; a render budget) against the run's
reference photo. In a window (``invoke``) the search runs in the background render process
(tools/render/process), as the agent's refine_parameters does: the scene is written to a job
file, the process refines its own copy and reports each render (the panel's progress bar), and
the modal timer only polls, so Blender's main thread never renders. ESC (or Stop) writes the
job's stop file: the search ends at its next render and keeps the best state found; pressed
again after ``ABANDON_AFTER`` seconds it abandons the job (a process that does not answer).
When the reply comes, its best values are applied in one short step and the operator finishes:
one undo step (the UNDO flag), so Ctrl+Z puts the scene back. No improvement: nothing is applied.
The artist's scene is not touched before the reply, so a cancel (another scene shown, a file
loaded, Blender stopping the operator) only ends the job. Keyboard input is held while it runs.

When the render process cannot start, the refinement runs here instead, stepped one render per
timer tick (``tools.refine.refine_steps``), and the report says so. Headless, ``execute`` (e.g.
``bpy.ops.viga.refine()`` from a script) runs the same steps here to the end: the caller waits
either way, and no process is started. The render processes are kept for the next Refine and
closed when a file loads (``on_load_pre``), the add-on is disabled (``shutdown``) or Blender
quits (client.close_all at exit).
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from dataclasses import dataclass, field

import bpy

from .. import live as rt

GROUP_PROPS = (
    ("lighting", "refine_lighting"),
    ("material", "refine_material"),
    ("placement", "refine_placement"),
    ("camera", "refine_camera"),
)
RENDER_SECONDS = 300.0  # per render of the budget: the job's time limit in the render process
ABANDON_AFTER = 3.0  # seconds after a Stop before Stop again abandons the job


@dataclass
class RefineJob:
    """One refinement in progress (module state: Python objects cannot live in bpy props).

    In the render process (``process`` set) or here (``steps``: the refine_steps generator)."""

    scene: str
    budget: int
    args: dict = field(default_factory=dict)  # refine_parameters' arguments
    steps: object = None
    process: object = None  # the RenderProcess running it
    stop_file: str = ""
    warning: str = ""  # why it runs here rather than in the render process
    renders: int = 0
    phase: str = "start"
    best_psnr: float | None = None
    stop: bool = False
    stopped_at: float = 0.0
    abandon: bool = False
    result: dict | None = None
    values: dict = field(default_factory=dict)  # the render process's best values, by name
    timer: object = None
    info: dict = field(default_factory=dict)

    def progress(self, info: dict) -> bool:
        self.renders, self.phase = info["renders"], info["phase"]
        if info.get("loss") == info.get("best_loss"):  # this render is the best so far
            self.best_psnr = info.get("psnr")
        self.info = info
        return not self.stop

    @property
    def fraction(self) -> float:
        return min(1.0, self.renders / max(self.budget, 1))

    def request_stop(self) -> None:
        """Stop the search at its next render, keeping the best state; a second request a
        while later abandons the job (the scene stays as it was)."""
        if self.stop:
            self.abandon = time.monotonic() - self.stopped_at > ABANDON_AFTER
            return
        self.stop, self.stopped_at = True, time.monotonic()
        if self.stop_file:
            with contextlib.suppress(OSError), open(self.stop_file, "w"):
                pass

    def run_here(self, reason: str | None = None) -> None:
        """Refine in this process, stepped (the fallback when the render process cannot start)."""
        from ...tools.host import FALLBACK_WARNING
        from ...tools.refine import steps as refine

        if reason is not None:
            self.warning = FALLBACK_WARNING.format(reason=reason)
        self.process, self.stop_file = None, ""
        self.steps = refine.refine_steps(**self.args, progress=self.progress)

    def step(self) -> bool:
        """One tick; True when the refinement has finished (``result`` is set). Here: one
        render. In the render process: only a look at what it has sent (never blocks)."""
        if self.process is not None:
            return self._poll()
        try:
            next(self.steps)
        except StopIteration as done:
            self.result = done.value
            return True
        return False

    def _poll(self) -> bool:
        reply = self.process.poll()
        if self.process.progress is not None and self.process.progress is not self.info:
            self.progress(self.process.progress)
        if reply is None:
            return False
        _remove(self.stop_file)
        if reply.get("start_failed"):
            self.run_here(reply.get("error"))
            return False
        self.result = reply.get("result") or {
            "ok": False,
            "error": reply.get("error") or "the render process sent no result",
        }
        self.values = reply.get("values") or {}
        return True


JOBS: dict[str, RefineJob] = {}
LAST: dict[str, str] = {}  # scene name -> the last refinement's summary line
PROCESSES: list = []  # the render processes of the panel's refinements (idle ones are reused)


def job_for(scene) -> RefineJob | None:
    return JOBS.get(scene.name)


def chosen_targets(props) -> list[str]:
    return [group for group, prop in GROUP_PROPS if getattr(props, prop)]


def chosen_objects(context, props) -> list[str] | None:
    if not props.refine_selected_only:
        return None
    return [o.name for o in context.scene.objects if o.select_get()]


def _problem(context, props) -> str | None:
    if context.scene.camera is None:
        return "The scene has no camera: add one (the render must look through the photo's view)."
    if not chosen_targets(props):
        return "Choose at least one group to refine (lighting, material, placement, camera)."
    if props.refine_selected_only and not chosen_objects(context, props):
        return "No object is selected: select the objects to refine, or refine all of them."
    return None


def start_job(op, context, here: bool = False) -> RefineJob | None:
    """Check the panel's choices and start a RefineJob: in the render process, or here when
    ``here`` or when the process cannot start (None, with an error report, if bad)."""
    props = context.scene.viga
    problem = _problem(context, props)
    photo, _label, photo_problem = rt.photo_from_props(props, resolve=True)
    if problem is None and photo_problem is not None:
        problem = photo_problem[1]
    if problem is None and job_for(context.scene) is not None:
        problem = "A refinement is already running in this scene."
    if problem is not None:
        op.report({"ERROR"}, problem)
        return None
    args = {
        "targets": chosen_targets(props),
        "budget": props.refine_budget,
        "photo": photo,
        "objects": chosen_objects(context, props),
        "device": _device(context),
    }
    job = RefineJob(context.scene.name, props.refine_budget, args)
    if here:
        job.run_here()
    else:
        problem = _submit(job)
        if problem is not None:
            op.report({"ERROR"}, problem)
            return None
    JOBS[job.scene] = job
    return job


def _device(context) -> str:
    from ..preferences import prefs

    p = prefs(context)
    return p.render_device.lower() if p is not None else "auto"


def render_process():
    """An idle render process for a job: one kept from an earlier Refine, else a new one."""
    from ...tools.render.process import client

    for process in list(PROCESSES):
        if not process.usable:
            process.close()
            PROCESSES.remove(process)
        elif not process.busy:
            return process
    process = client.RenderProcess(client.worker_command(bpy.app.binary_path))
    PROCESSES.append(process)
    return process


def _submit(job: RefineJob) -> str | None:
    """Write the scene and send the job to a render process (or refine here when none can
    start); the problem in words when the scene cannot be written."""
    from ...tools.render import engine as render
    from ...tools.scene import file as scene_file

    process = render_process()
    if not process.usable:
        job.run_here(process.start_error)
        return None
    blend = process.job_path("refine")
    try:
        scene_file.write_scene(blend, bpy.data.scenes[job.scene])
    except Exception as exc:
        return f"Could not write the scene for the render process: {exc}"
    job.process = process
    job.stop_file = os.path.join(process.workdir, f"stop_{uuid.uuid4().hex[:8]}")
    request = {
        "kind": "refine",
        "refine": job.args,
        "device": render.choose_device(job.args["device"]),
        "blend": blend,
        "stop_file": job.stop_file,
        "scene": job.scene,
    }
    process.submit(request, time_limit=RENDER_SECONDS * (job.budget + 2))
    return None


def finish_job(op, job: RefineJob) -> set:
    """Apply the render process's best values (when they improve the scene) and report; FINISHED
    when it ran (the undo step), CANCELLED on bad input or a failure."""
    from ...tools.refine import steps as refine
    from ...tools.render.process import jobs

    JOBS.pop(job.scene, None)
    result = job.result or {"ok": False, "error": "the refinement did not finish"}
    if result.get("ok") and result.get("improved") and job.process is not None:
        scene = bpy.data.scenes.get(job.scene)
        try:
            if scene is None:
                raise ValueError(f"scene {job.scene!r} is gone")
            jobs.apply_values(job.values, scene)
        except Exception as exc:  # nothing was set (apply_values checks every value first)
            result = {"ok": False, "error": f"the refined values could not be applied: {exc}"}
    text = " ".join(filter(None, [refine.summary(result), job.warning]))
    LAST[job.scene] = text
    if not result.get("ok"):
        op.report({"ERROR"}, text)
        return {"CANCELLED"}
    op.report({"WARNING"} if job.warning else {"INFO"}, text)
    return {"FINISHED"}


def abandon_job(job: RefineJob) -> None:
    """Stop at once: the render process's job is killed (the artist's scene was never
    touched), or here the generator is closed, which puts the scene back as it was."""
    JOBS.pop(job.scene, None)
    if job.process is not None:
        job.process.cancel()
        _remove(job.stop_file)
    elif job.steps is not None:
        job.steps.close()


def shutdown() -> None:
    """Abandon every refinement and end the render processes (file load, add-on disabled)."""
    for job in list(JOBS.values()):
        abandon_job(job)
    while PROCESSES:
        PROCESSES.pop().close(wait=False)


@bpy.app.handlers.persistent
def on_load_pre(*_args):
    shutdown()


def _remove(path: str) -> None:
    if path:
        with contextlib.suppress(OSError):
            os.remove(path)


class VIGA_OT_refine(bpy.types.Operator):
    """Refine the chosen groups numerically against the reference photo (small renders)"""

    bl_idname = "viga.refine"
    bl_label = "Refine"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return context.scene is not None and job_for(context.scene) is None

    def execute(self, context):
        job = start_job(self, context, here=True)
        if job is None:
            return {"CANCELLED"}
        try:
            while not job.step():
                pass
        except BaseException:
            abandon_job(job)
            raise
        return finish_job(self, job)

    def invoke(self, context, event):
        if context.window is None:
            return self.execute(context)
        job = start_job(self, context)
        if job is None:
            return {"CANCELLED"}
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

    def _give_up(self, context, job, kind, message) -> set:
        abandon_job(job)
        self._end(context)
        self.report({kind}, message)
        return {"CANCELLED"}

    def modal(self, context, event):
        job = getattr(self, "_job", None)
        if job is None:
            return {"CANCELLED"}
        if JOBS.get(job.scene) is not job:  # abandoned elsewhere (a file load)
            self._end(context)
            return {"CANCELLED"}
        if context.scene is None or context.scene.name != job.scene:
            # the window shows another scene now (here, renders would be of that one)
            return self._give_up(
                context, job, "WARNING", f"Refinement stopped: scene {job.scene!r} left; unchanged"
            )
        if event.type == "ESC" and event.value == "PRESS":
            job.request_stop()
        if job.abandon:
            return self._give_up(context, job, "WARNING", "Refinement abandoned; scene unchanged")
        if event.type != "TIMER":
            # mouse: the panel's Stop button and the view stay usable; keys are held
            return {"PASS_THROUGH"} if "MOUSE" in event.type else {"RUNNING_MODAL"}
        try:
            done = job.step()
        except Exception as exc:  # a render failure must not leave the timer running
            return self._give_up(context, job, "ERROR", f"Refinement failed: {exc}")
        rt.redraw(context)
        if not done:
            return {"RUNNING_MODAL"}
        self._end(context)
        return finish_job(self, job)

    def cancel(self, context):
        job = getattr(self, "_job", None)
        if job is not None and JOBS.get(job.scene) is job:
            abandon_job(job)
            self._end(context)


class VIGA_OT_refine_stop(bpy.types.Operator):
    """Stop the refinement now and keep the best state it has found"""

    bl_idname = "viga.refine_stop"
    bl_label = "Stop Refining"

    @classmethod
    def poll(cls, context):
        return context.scene is not None and job_for(context.scene) is not None

    def execute(self, context):
        job_for(context.scene).request_stop()
        return {"FINISHED"}


CLASSES = (VIGA_OT_refine, VIGA_OT_refine_stop)
