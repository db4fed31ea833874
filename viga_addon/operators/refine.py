"""The panel's Refine button: numeric render-and-compare refinement of the open scene.

``viga.refine`` refines the groups chosen in the panel (``scene.viga``: lighting, material,
placement, camera; optionally only the selected objects; a render budget) against the run's
reference photo. In a window it is modal: a timer drives ``tools.refine.refine_steps`` one
small render per tick, so Blender keeps drawing and the panel shows a progress bar; ESC (or
Stop) ends early and keeps the best state found. Keyboard input is held while it runs, so
nothing edits the scene under the refiner. It is one undo step (the UNDO flag: Blender pushes
one step when the operator finishes). Headless, ``execute`` runs the same steps to the end.
The refinement runs in Blender's main process, stepped, not in the background render process.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import bpy

from .. import ui_runtime as rt

GROUP_PROPS = (
    ("lighting", "refine_lighting"),
    ("material", "refine_material"),
    ("placement", "refine_placement"),
    ("camera", "refine_camera"),
)


@dataclass
class RefineJob:
    """One refinement in progress (module state: Python objects cannot live in bpy props)."""

    scene: str
    steps: object  # the refine_steps generator
    budget: int
    renders: int = 0
    phase: str = "start"
    best_psnr: float | None = None
    stop: bool = False
    result: dict | None = None
    timer: object = None
    info: dict = field(default_factory=dict)

    def progress(self, info: dict) -> bool:
        self.renders, self.phase = info["renders"], info["phase"]
        self.info = info
        return not self.stop

    @property
    def fraction(self) -> float:
        return min(1.0, self.renders / max(self.budget, 1))

    def step(self) -> bool:
        """One render; True when the refinement has finished (``result`` is set)."""
        try:
            next(self.steps)
        except StopIteration as done:
            self.result = done.value
            return True
        return False


JOBS: dict[str, RefineJob] = {}
LAST: dict[str, str] = {}  # scene name -> the last refinement's summary line


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


def start_job(op, context) -> RefineJob | None:
    """Check the panel's choices and open a RefineJob (None, with an error report, if bad)."""
    from ..tools import refine

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
    job = RefineJob(context.scene.name, None, props.refine_budget)
    job.steps = refine.refine_steps(
        chosen_targets(props),
        props.refine_budget,
        photo,
        objects=chosen_objects(context, props),
        device=_device(context),
        progress=job.progress,
    )
    JOBS[job.scene] = job
    return job


def _device(context) -> str:
    from ..preferences import prefs

    p = prefs(context)
    return p.render_device.lower() if p is not None else "auto"


def finish_job(op, job: RefineJob) -> set:
    """Report the result; FINISHED when it ran (the undo step), CANCELLED on bad input."""
    from ..tools import refine

    JOBS.pop(job.scene, None)
    result = job.result or {"ok": False, "error": "the refinement did not finish"}
    text = refine.summary(result)
    LAST[job.scene] = text
    if not result.get("ok"):
        op.report({"ERROR"}, text)
        return {"CANCELLED"}
    op.report({"INFO"}, text)
    return {"FINISHED"}


def abandon_job(job: RefineJob) -> None:
    """Stop at once and put the scene back as it was (closing the generator restores it)."""
    JOBS.pop(job.scene, None)
    job.steps.close()


class VIGA_OT_refine(bpy.types.Operator):
    """Refine the chosen groups numerically against the reference photo (small renders)"""

    bl_idname = "viga.refine"
    bl_label = "Refine"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return context.scene is not None and job_for(context.scene) is None

    def execute(self, context):
        job = start_job(self, context)
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

    def modal(self, context, event):
        job = getattr(self, "_job", None)
        if job is None or JOBS.get(job.scene) is not job:
            return {"CANCELLED"}
        if context.scene is None or context.scene.name != job.scene:
            # the window shows another scene now: renders would be of that one
            abandon_job(job)
            self._end(context)
            self.report({"WARNING"}, f"Refinement stopped: scene {job.scene!r} left; put back")
            return {"CANCELLED"}
        if event.type == "ESC" and event.value == "PRESS":
            job.stop = True  # the next step ends the search and keeps the best state
        if event.type != "TIMER":
            # mouse: the panel's Stop button and the view stay usable; keys are held
            return {"PASS_THROUGH"} if "MOUSE" in event.type else {"RUNNING_MODAL"}
        try:
            done = job.step()
        except Exception as exc:  # a render failure must not leave the timer running
            abandon_job(job)
            self._end(context)
            self.report({"ERROR"}, f"Refinement failed: {exc}")
            return {"CANCELLED"}
        rt.redraw(context)
        if not done:
            return {"RUNNING_MODAL"}
        self._end(context)
        return finish_job(self, job)

    def cancel(self, context):
        job = getattr(self, "_job", None)
        if job is not None and job_for(context.scene) is job:
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
        job_for(context.scene).stop = True
        return {"FINISHED"}


CLASSES = (VIGA_OT_refine, VIGA_OT_refine_stop)
