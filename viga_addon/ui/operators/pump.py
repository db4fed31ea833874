"""The modal operators that pump ``Session.step()`` on a window-manager timer.

Run starts a run, Resume continues one (the live one, or a run folder, e.g. after reopening a
.blend saved mid-run), Pause toggles, Step runs one round then pauses, Cancel stops (ESC too).
There is one loop — the Session's — and one pump, ``RunPump``; it is a plain class so tests can
drive ``invoke``/``modal``/``cancel`` with small fake events and contexts (headless Blender never
goes modal: timers do not fire and INVOKE_DEFAULT runs ``execute``).
"""

from __future__ import annotations

import time
from pathlib import Path

import bpy

from ...agent.session import StepKind
from ...agent.state import Phase, RunStatus
from .. import live as rt
from ..properties import chosen_stages


class RunPump:
    """Modal pump shared by the operators that may start pumping a session."""

    tick_budget = rt.TICK_BUDGET

    # ------------------------------------------------------------------ pump lifecycle
    def _begin_pump(self, context, live) -> set:
        wm = context.window_manager
        live.timer = wm.event_timer_add(rt.TICK_SECONDS, window=context.window)
        live.pumping = True
        self._live = live
        wm.modal_handler_add(self)
        rt.redraw(context)
        return {"RUNNING_MODAL"}

    def _end_pump(self, context, live) -> None:
        if live.timer is not None:
            try:
                context.window_manager.event_timer_remove(live.timer)
            except Exception:  # already removed by Blender (file load, window closed)
                pass
        live.timer = None
        live.pumping = False
        if live.session.finished:
            live.close_processes()
        rt.redraw(context)

    def modal(self, context, event):
        live = getattr(self, "_live", None)
        if live is None or rt.any_live_run() is not live:
            # the run was replaced or shut down (file load, unregister)
            return {"CANCELLED"}
        # ESC cancels a running run; while paused the artist edits and ESC is theirs
        if event.type == "ESC" and event.value == "PRESS" and live.status == "running":
            live.session.cancel()
            live.last_message = "cancelled with ESC; the run folder is resumable"
            self._end_pump(context, live)
            self.report({"INFO"}, "VIGA: run cancelled (resume it from the panel)")
            return {"CANCELLED"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        self.tick(context, live)
        if live.session.finished or not live.pumping:
            self._end_pump(context, live)
            return {"FINISHED"}
        return {"PASS_THROUGH"}

    def cancel(self, context):
        """Blender ends the operator (file load, window closed): pause, keep it resumable."""
        live = getattr(self, "_live", None)
        if live is None:
            return
        if not live.session.finished and live.status == "running":
            live.session.pause("paused: Blender stopped the run's timer")
        self._end_pump(context, live)

    # ------------------------------------------------------------------ one timer tick
    def tick(self, context, live) -> None:
        """Step the session until it waits, stops, or the tick's time budget is used."""
        session = live.session
        t0 = time.perf_counter()
        # "pending": the tick only polled a request the model is still working on
        pending = session.state.awaiting is not None
        if rt.scene_key(context.scene) != live.scene_key:
            live.last_message = f"waiting: switch back to scene {live.scene_name!r}"
            live.ticks.append((time.perf_counter() - t0, pending))
            return
        while True:
            try:
                result = session.step()
            except Exception as e:  # a bug or a broken snapshot must not leave the timer on
                live.error = f"the run stopped: {type(e).__name__}: {e}"
                session.pause(live.error)
                break
            live.last_kind = result.kind
            if not result.waiting:
                pending = False
                live.last_message = result.message
            self._after_step(context, live, result)
            if result.stops or session.status is not RunStatus.RUNNING:
                break
            if time.perf_counter() - t0 > self.tick_budget:
                break
        live.ticks.append((time.perf_counter() - t0, pending))
        if not pending or time.monotonic() - live.redrawn > 0.5:  # elapsed time ticks on
            live.redrawn = time.monotonic()
            rt.redraw(context)

    def _after_step(self, context, live, result) -> None:
        session = live.session
        if result.kind is StepKind.REVIEW:
            rt.show_review(live)
        if (
            live.step_once
            and session.status is RunStatus.RUNNING
            and ended_a_round(result, session)
        ):
            live.step_once = False
            session.pause("stepped one round; Step again or Resume")
        if session.status is RunStatus.PAUSED and live.paused_fp is None:
            rt.remember_scene(live, context.scene)


def ended_a_round(result, session) -> bool:
    """True after the step that ends a round: its verdict, or, for a stage's last round, the
    stage's end (so Step pauses with the stage's best attempt in the scene)."""
    if result.kind is StepKind.STAGE_ENDED:
        return True
    return result.kind is StepKind.ROUND_ENDED and session.state.phase is not Phase.STAGE_END


def _prefs(context):
    from ..preferences import prefs

    return prefs(context)


def _run_scene(context, name: str):
    """The scene a new run works in: the current one when empty, else a new scene.

    A run replaces the content of its scene, so an artist's scene is never used for it; without
    a window (headless) there is no way to switch scenes and the current one is used.
    """
    scene = context.scene
    if not scene.objects or getattr(context, "window", None) is None:
        return scene
    new = bpy.data.scenes.new(f"VIGA {name}")
    context.window.scene = new
    return new


def start_run(op, context, edit=None, changes=None, script=None):
    """Validate the inputs and open the run; returns the LiveRun or None (reported).
    ``edit``: a SceneEdit: the run edits the current scene (operators/match.py); ``changes``:
    settings over the preferences' (Make it Move: the interaction stage and its prompt);
    ``script``: the scripted demo's replies for it (unless the preferences name a script)."""
    from ...agent.errors import ProviderError
    from ...agent.photo import PhotoError
    from ...launch import RunRequest, open_run
    from ..preferences import runs_root

    live = rt.any_live_run()
    if rt.run_is_going(live):
        op.report(
            {"ERROR"},
            f"A run is already going in scene {live.scene_name!r} "
            f"({live.status}): cancel it first, or resume it.",
        )
        return None
    choice = rt.choose(context, resolve_photo=True)
    if not choice.ok:
        for _code, message in choice.problems:
            op.report({"ERROR"}, message)
        return None
    p = _prefs(context)
    settings = rt.settings_from_prefs(p).with_changes(
        provider=choice.provider,
        base_url=choice.base_url,
        model=None if choice.provider == "scripted" else choice.model,
        stages=chosen_stages(context.scene.viga, edit=edit is not None),
        note=context.scene.viga.note.strip(),
    )
    if changes:
        settings = settings.with_changes(**changes)
    if not settings.stages and settings.stages is not None:
        op.report({"ERROR"}, "Tick at least one stage in the Stages panel.")
        return None
    if choice.provider != "scripted":
        script = None
    elif script is None or (getattr(p, "demo_script", "") if p else "").strip():
        script = rt.demo_script(p, edit=edit is not None)  # the preferences' script comes first
    request = RunRequest(
        settings,
        photo=choice.photo,
        runs_root=runs_root(context),
        name=Path(choice.photo).stem,
        api_key=choice.key,
        script=script,
        edit=edit,
    )
    try:
        opened = open_run(request)
    except ProviderError as e:
        op.report({"ERROR"}, str(e))
        return None
    except (PhotoError, ValueError) as e:
        op.report({"ERROR"}, f"The photo could not be loaded: {e}")
        return None
    except OSError as e:
        op.report({"ERROR"}, f"Cannot write the run folder under {runs_root(context)}: {e}")
        return None
    source = context.scene
    scene = source if edit is not None else _run_scene(context, Path(choice.photo).stem)
    if live is not None:  # a finished run's leftovers
        live.close_processes()
    live = rt.LiveRun.of(opened, scene)
    rt.set_live_run(live)
    scene.viga.run_dir = str(opened.session.run_dir)
    if scene != source:  # the new scene shows the same inputs
        for name in ("photo_source", "photo_path", "photo_image", "provider", "model"):
            setattr(scene.viga, name, getattr(source.viga, name))
    opened.worker.start()  # the child imports its SDK while the scene is set up
    if choice.provider == "scripted":
        op.report({"INFO"}, f"VIGA: {rt.SCRIPTED_NOTE}")
    return live


def resume_from_folder(op, context, run_dir: str):
    """A Session resumed from a run folder (after Cancel, a failure, or reopening a .blend)."""
    from ...agent.errors import ProviderError
    from ...agent.providers.keys import needs_online
    from ...launch import RunRequest, open_run, stored_settings

    try:
        stored = stored_settings(run_dir) if run_dir else None
    except (FileNotFoundError, ValueError):
        stored = None
    if stored is None:
        op.report(
            {"ERROR"}, f"No resumable run in {run_dir or '(no folder)'} (state.json missing)."
        )
        return None
    p = _prefs(context)
    if needs_online(stored.provider, stored.base_url) and not rt.online_access():
        op.report(
            {"ERROR"}, f"Blender's online access is off, so nothing is sent. {rt.ONLINE_HELP}."
        )
        return None
    script = rt.demo_script(p) if stored.provider == "scripted" else None
    override = None
    if p is not None and stored.max_cost and float(p.max_cost) != stored.max_cost:
        override = {"max_cost": float(p.max_cost)}  # e.g. raised after the run hit its cap
    try:
        opened = open_run(
            RunRequest(
                resume=run_dir,
                settings_override=override,
                api_key=rt.stored_key(stored.provider, p),
                script=script,
            )
        )
    except ProviderError as e:
        op.report({"ERROR"}, str(e))
        return None
    old = rt.any_live_run()
    if old is not None:
        old.close_processes()
    live = rt.LiveRun.of(opened, context.scene)
    rt.set_live_run(live)
    context.scene.viga.run_dir = str(opened.session.run_dir)
    return live


class StartsRun(RunPump):
    """An operator that starts a new run (``_start``: the live run, or None when it cannot) and
    pumps it: modal from the UI, to its next stop when called from a script."""

    def _start(self, context):
        return start_run(self, context)

    def invoke(self, context, event):
        live = self._start(context)
        if live is None:
            return {"CANCELLED"}
        return self._begin_pump(context, live)

    def execute(self, context):
        """Headless (``bpy.ops.viga.run()`` in a script): run until it finishes or pauses."""
        live = self._start(context)
        if live is None:
            return {"CANCELLED"}
        pump_until_stop(live, context)
        return {"FINISHED"}


class VIGA_OT_run(StartsRun, bpy.types.Operator):
    """Reconstruct the reference photo as an editable scene, stage by stage"""

    bl_idname = "viga.run"
    bl_label = "Reconstruct"


def pump_until_stop(live, context) -> str:
    """Step a live run to its next stop on the calling thread (headless front end)."""
    live.pumping = True
    try:
        status = live.session.run_to_end()
    finally:
        live.pumping = False
        if live.session.finished:
            live.close_processes()
    if live.session.status is RunStatus.REVIEW:
        rt.show_review(live)
    if live.session.status is RunStatus.PAUSED:
        rt.remember_scene(live, context.scene)
    return status


class VIGA_OT_resume_run(RunPump, bpy.types.Operator):
    """Continue the run: the paused one here, or the run folder this scene remembers"""

    bl_idname = "viga.resume_run"
    bl_label = "Resume Run"

    run_dir: bpy.props.StringProperty(name="Run folder", subtype="DIR_PATH", options={"SKIP_SAVE"})

    def _prepare(self, context):
        live = rt.live_run(context.scene)
        other = rt.any_live_run()
        if other is not None and other is not live and rt.run_is_going(other):
            self.report({"ERROR"}, f"A run is already going in scene {other.scene_name!r}.")
            return None
        if live is not None and live.pumping and live.status == "running":
            self.report({"WARNING"}, "The run is already running.")
            return None
        if live is not None and not self.run_dir and live.status in ("running", "paused", "review"):
            # the live run goes on (running: e.g. code just approved, with no pump going);
            # reading it back from its folder would restart the round in progress
            if live.status == "paused":
                changes = rt.continue_live(live, context.scene)
                if changes:
                    self.report({"INFO"}, "VIGA: kept your edits: " + rt.summarize_changes(changes))
            live.error = ""
            return live
        run_dir = self.run_dir or context.scene.viga.run_dir
        return resume_from_folder(self, context, bpy.path.abspath(run_dir))

    def invoke(self, context, event):
        live = self._prepare(context)
        if live is None:
            return {"CANCELLED"}
        if live.pumping:
            return {"FINISHED"}  # the running pump picks the resumed session up
        if live.session.finished:  # a finished run, loaded so its stages can be reverted
            self.report({"INFO"}, "VIGA: run loaded; revert a stage to continue from it")
            return {"FINISHED"}
        return self._begin_pump(context, live)

    def execute(self, context):
        live = self._prepare(context)
        if live is None:
            return {"CANCELLED"}
        if not live.pumping and not live.session.finished:
            pump_until_stop(live, context)
        return {"FINISHED"}


class VIGA_OT_pause(RunPump, bpy.types.Operator):
    """Pause the run after the current step (or resume it, keeping your edits)"""

    bl_idname = "viga.pause"
    bl_label = "Pause / Resume"

    @classmethod
    def poll(cls, context):
        live = rt.live_run(context.scene)
        return live is not None and live.status in ("running", "paused")

    def invoke(self, context, event):
        return self.execute(context)

    def execute(self, context):
        live = rt.live_run(context.scene)
        if live is None:
            self.report({"ERROR"}, "No run to pause here.")
            return {"CANCELLED"}
        if live.status == "running":
            live.session.pause("paused by you; edit the scene if you like, then Resume")
            rt.remember_scene(live, context.scene)
            return {"FINISHED"}
        if live.status == "paused":
            changes = rt.continue_live(live, context.scene)
            if changes:
                self.report({"INFO"}, "VIGA: kept your edits: " + rt.summarize_changes(changes))
            if not live.pumping and not bpy.app.background:
                return self._begin_pump(context, live)
            return {"FINISHED"}
        self.report({"WARNING"}, f"The run is {live.status}.")
        return {"CANCELLED"}


class VIGA_OT_step_round(RunPump, bpy.types.Operator):
    """Run one round, then pause again"""

    bl_idname = "viga.step_round"
    bl_label = "Step"

    @classmethod
    def poll(cls, context):
        live = rt.live_run(context.scene)
        return live is not None and live.status in ("running", "paused")

    def invoke(self, context, event):
        live = rt.live_run(context.scene)
        if live is None:
            return {"CANCELLED"}
        live.step_once = True
        if live.status == "paused":
            rt.continue_live(live, context.scene)
        if not live.pumping:
            return self._begin_pump(context, live)
        return {"FINISHED"}

    def execute(self, context):
        live = rt.live_run(context.scene)
        if live is None:
            return {"CANCELLED"}
        live.step_once = True
        if live.status == "paused":
            rt.continue_live(live, context.scene)
        if not live.pumping:
            pump_until_stop(live, context)
        return {"FINISHED"}


class VIGA_OT_cancel(bpy.types.Operator):
    """Stop the run now (ESC does too, with the mouse over Blender); the scene stays at the last
    completed step and the run is resumable"""

    bl_idname = "viga.cancel"
    bl_label = "Cancel Run"

    @classmethod
    def poll(cls, context):
        live = rt.live_run(context.scene)
        return live is not None and not live.session.finished

    def execute(self, context):
        live = rt.live_run(context.scene)
        if live is None or live.session.finished:
            return {"CANCELLED"}
        live.session.cancel()
        live.step_once = False
        if not live.pumping:
            live.close_processes()
        # a pumping modal operator sees the finished session on its next tick and ends itself
        self.report({"INFO"}, "VIGA: run cancelled; Resume continues from the last round")
        return {"FINISHED"}


CLASSES = (VIGA_OT_run, VIGA_OT_resume_run, VIGA_OT_pause, VIGA_OT_step_round, VIGA_OT_cancel)
