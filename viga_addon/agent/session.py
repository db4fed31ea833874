"""The staged reconstruction as a step-able state machine (no bpy).

``Session.step()`` does one unit of work — submit or poll one model request, or run one tool call
through the host — and returns quickly. The CLI pumps it in a loop, the modal operator pumps it on
timer events: there is no second copy of the loop. The state is written to ``state.json`` after
every step, so a run resumes after a crash with every completed round kept (an interrupted round is
restarted from the snapshot it began with).

Phases, per stage:  stage_start → round_start → generator ⇄ (model, tools) → attempt →
verifier_start → verifier ⇄ (model, tools) → round_end → (next round | stage_end) → … → final.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import memory, selection
from . import messages as msg
from .photo import prepare_reference
from .providers.errors import BadResponse, Disposition, VigaError
from .runstore import RunStore, new_run_dir, write_json, write_text

STAGE_STATUSES = ("waiting", "running", "approved", "budget_spent", "failed", "skipped")

DEFAULT_SETTINGS = {
    "provider": "scripted",
    "model": None,
    "base_url": None,
    "stages": None,  # all
    "budgets": {},
    "rollouts": 2,
    "render_device": "auto",
    "engine": "CYCLES",
    "preview_size": 256,
    "preview_samples": 16,
    "final_size": 512,
    "final_samples": 64,
    "memory": "compact",
    "max_tokens": 4096,
    "review_code": False,
    "pause_after": None,  # None | "round" | "stage"
}


@dataclass
class StepResult:
    kind: str  # waiting | request | tool | round | stage | done | paused | failed | review
    message: str = ""
    data: dict = field(default_factory=dict)

    @property
    def waiting(self) -> bool:
        return self.kind == "waiting"


class Session:
    """One reconstruction run. Create with :meth:`create`, continue one with :meth:`resume`."""

    def __init__(self, store: RunStore, host, client, stages, state: dict):
        self.store = store
        self.host = host
        self.client = client
        self.stages = list(stages)
        self.state = state
        self._request_started = None

    # ---------------------------------------------------------------- construction
    @classmethod
    def create(cls, photo, runs_root, host, client, settings: dict | None = None, name=None):
        from ..stages import build_stages

        settings = {**DEFAULT_SETTINGS, **(settings or {})}
        stages = build_stages(settings["stages"], settings["budgets"])
        if stages[0].rollouts:
            stages[0] = stages[0].with_budget(settings["budgets"].get("init", settings["rollouts"]))
        run_dir = new_run_dir(Path(runs_root), name or Path(photo).stem)
        store = RunStore(run_dir)
        try:
            ref = prepare_reference(photo, store.reference)
        except Exception:
            # nothing to keep: an empty run folder would only confuse a later --resume
            import shutil

            shutil.rmtree(run_dir, ignore_errors=True)
            raise
        store.write_run_info(
            {
                "photo": str(Path(photo).resolve()),
                "reference": ref,
                "settings": settings,
                "stages": [{"name": s.name, "budget": s.budget} for s in stages],
                "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            }
        )
        state = {
            "version": 1,
            "status": "running",
            "message": "",
            "settings": settings,
            "reference": ref,
            "stage_order": [s.name for s in stages],
            "stage_index": 0,
            "phase": "begin",
            "stages": {s.name: _new_stage_state(s) for s in stages},
            "scene_graph": None,
            "conv": None,
            "pending": [],
            "results": [],
            "awaiting": None,
            "scene_at": None,
            "totals": {
                "input_tokens": 0,
                "output_tokens": 0,
                "images": 0,
                "requests": 0,
                "cost_usd": 0.0,
            },
            "timing": {"model": 0.0, "execute": 0.0, "render": 0.0, "other_tools": 0.0},
            "started": time.time(),
            "elapsed_before": 0.0,
        }
        session = cls(store, host, client, stages, state)
        session._save()
        store.append_event({"kind": "created", "run_dir": str(run_dir)})
        return session

    @classmethod
    def resume(cls, run_dir, host, client, settings_override: dict | None = None):
        from ..stages import build_stages

        store = RunStore(Path(run_dir))
        state = store.load_state()
        if not state:
            raise FileNotFoundError(f"no resumable run in {run_dir} (state.json missing)")
        if settings_override:
            state["settings"].update(settings_override)
        settings = state["settings"]
        stages = build_stages(state["stage_order"], settings["budgets"])
        for i, s in enumerate(stages):
            stages[i] = s.with_budget(state["stages"][s.name]["budget"])
        session = cls(store, host, client, stages, state)
        session._restart_interrupted_round()
        if state["status"] in ("paused", "failed", "cancelled", "review"):
            if not (state["status"] == "failed" and state["phase"] == "done"):
                state["status"] = "running"
        state["elapsed_before"] = state.get("elapsed", 0.0)
        state["started"] = time.time()
        session._save()
        store.append_event({"kind": "resumed", "phase": state["phase"]})
        return session

    # ---------------------------------------------------------------- public
    @property
    def run_dir(self) -> Path:
        return self.store.dir

    @property
    def status(self) -> str:
        return self.state["status"]

    @property
    def finished(self) -> bool:
        return self.state["status"] in ("done", "failed", "cancelled")

    @property
    def stage(self):
        return self.stages[self.state["stage_index"]]

    def progress(self) -> dict:
        """What a front end shows: stage, round, fraction done, elapsed, tokens, cost."""
        st = self.state
        total = sum(s.budget for s in self.stages) + 1
        done = 0
        for s in self.stages:
            ss = st["stages"][s.name]
            if ss["status"] in ("approved", "budget_spent", "skipped", "failed"):
                done += s.budget
            else:
                done += len(ss["attempts"])
        if st["phase"] == "done":
            done = total
        stage = self.stages[min(st["stage_index"], len(self.stages) - 1)]
        return {
            "stage": stage.name,
            "round": st["stages"][stage.name]["round"],
            "budget": stage.budget,
            "phase": st["phase"],
            "status": st["status"],
            "fraction": min(1.0, done / total),
            "elapsed": self.elapsed(),
            **st["totals"],
            "message": st["message"],
        }

    def elapsed(self) -> float:
        return self.state["elapsed_before"] + (time.time() - self.state["started"])

    def step(self) -> StepResult:
        st = self.state
        if st["status"] in ("done", "failed", "cancelled"):
            return StepResult("done" if st["status"] == "done" else st["status"], st["message"])
        if st["status"] in ("paused", "review"):
            return StepResult(st["status"], st["message"])
        try:
            if st["awaiting"]:
                result = self._poll()
                if result.waiting:
                    return result
            else:
                result = getattr(self, f"_phase_{st['phase']}")()
            self._save()
        except Exception as exc:
            full = _disk_full_message(exc, self.store.dir)
            if not full:
                raise
            return self._pause_disk_full(full)
        self.store.append_event(
            {
                "kind": result.kind,
                "phase": st["phase"],
                "stage": self.stage.name if st["phase"] != "done" else None,
                "message": result.message[:300],
                **result.data,
            }
        )
        return result

    def _pause_disk_full(self, message: str) -> StepResult:
        """The disk filled up mid-step: pause. state.json on disk is the last complete one
        (files are written to a temporary name, then renamed), so a resume redoes the
        interrupted round only."""
        self._restart_interrupted_round()
        self.state["status"] = "paused"
        self.state["message"] = message
        self.state["error_type"] = "DiskFull"
        try:
            self._save()
            self.store.append_event({"kind": "paused", "message": message})
        except OSError:
            pass  # still full: the previous state.json stands
        return StepResult("paused", message, {"error_type": "DiskFull"})

    def run_to_end(self, on_step=None, poll_interval=0.02) -> str:
        """Pump ``step`` until the run finishes, pauses or waits for review (headless use)."""
        while True:
            r = self.step()
            if on_step:
                on_step(r, self)
            if r.kind in ("done", "failed", "cancelled", "paused", "review"):
                return self.state["status"]
            if r.waiting:
                time.sleep(poll_interval)

    def pause(self, reason="paused by the user") -> None:
        if not self.finished:
            self.state["status"] = "paused"
            self.state["message"] = reason
            self._save()

    def resume_running(self) -> None:
        if self.state["status"] == "paused":
            self.state["status"] = "running"
            self.state["message"] = ""
            self._save()

    def cancel(self) -> None:
        """Stop at once: the in-flight request is killed, the interrupted round will rerun."""
        if self.client is not None:
            self.client.cancel()
        self.state["awaiting"] = None
        self._restart_interrupted_round()
        self.state["status"] = "cancelled"
        self.state["message"] = "cancelled; resume to continue from the last completed round"
        self._save()
        self.store.append_event({"kind": "cancelled"})

    # step-through: code review -------------------------------------------------------------
    @property
    def code_under_review(self) -> str | None:
        review = self.state.get("review")
        return review["code"] if review else None

    def approve_code(self, code: str | None = None) -> None:
        review = self.state.get("review")
        if not review:
            return
        call = self.state["pending"][0]
        call["arguments"] = {**call["arguments"], "code": review["code"] if code is None else code}
        call["reviewed"] = "edited" if code is not None and code != review["code"] else "approved"
        self.state["review"] = None
        self.state["status"] = "running"
        self._save()

    def skip_code(self) -> None:
        if not self.state.get("review"):
            return
        call = self.state["pending"][0]
        call["reviewed"] = "skipped"
        self.state["review"] = None
        self.state["status"] = "running"
        self._save()

    # hand edits while paused -----------------------------------------------------------------
    def accept_hand_edits(self, changes: dict) -> None:
        """Keep what the artist changed by hand while the run was paused.

        The current scene becomes the base of the next round (snapshotted into the run folder,
        so a resume keeps it too) and ``changes`` is told to the next generator round.
        """
        stage = self.stage
        ss = self.state["stages"][stage.name]
        k = len(list(self.store.stage_dir(stage.name).glob("hand_edit_*.blend"))) + 1
        path = self.store.stage_dir(stage.name) / f"hand_edit_{k}.blend"
        self._snapshot(path)
        if self.state["phase"] in ("generator", "verifier", "attempt"):
            if self.state["awaiting"] and self.client is not None:
                self.client.cancel()  # its reply belongs to the round being restarted
            self._restart_interrupted_round()
            self.state["scene_at"] = str(path)
        ss["base_override"] = str(path)
        ss["hand_edits"] = changes
        self._save()
        self.store.append_event({"kind": "hand_edits", "changes": changes})

    # revert / rerun / skip -------------------------------------------------------------------
    def revert_to_stage(self, name: str) -> None:
        """Scene back to the end of stage ``name``; the run continues with the stage after it."""
        idx = self.state["stage_order"].index(name)
        snap = self.store.stage_dir(name) / "snapshot.blend"
        if not snap.exists():
            raise ValueError(f"stage {name} has not finished; nothing to revert to")
        self._cancel_request()
        self.host.call("restore", {"path": str(snap)})
        self.state["scene_at"] = str(snap)
        for later in self.state["stage_order"][idx + 1 :]:
            self.state["stages"][later] = _new_stage_state(self._stage_named(later))
        self._goto_stage(idx + 1)
        self._reopen_finished_run()
        self.state["message"] = f"reverted to the end of {name}"
        self._save()
        self.store.append_event({"kind": "revert", "stage": name})

    def rerun_stage(self, name: str) -> None:
        idx = self.state["stage_order"].index(name)
        start = self.store.stage_dir(name) / "start.blend"
        if not start.exists():
            raise ValueError(f"stage {name} has not started; nothing to rerun")
        self._cancel_request()
        self.host.call("restore", {"path": str(start)})
        self.state["scene_at"] = str(start)
        for later in self.state["stage_order"][idx:]:
            self.state["stages"][later] = _new_stage_state(self._stage_named(later))
        self._goto_stage(idx)
        self.state["phase"] = "round_start"  # start.blend already exists
        self.state["stages"][name]["status"] = "running"
        self.state["stages"][name]["round"] = 1
        self._reopen_finished_run()
        self._save()
        self.store.append_event({"kind": "rerun", "stage": name})

    def skip_stage(self, name: str | None = None) -> None:
        name = name or self.stage.name
        idx = self.state["stage_order"].index(name)
        if idx != self.state["stage_index"]:
            raise ValueError(f"only the current stage ({self.stage.name}) can be skipped")
        self._cancel_request()
        ss = self.state["stages"][name]
        start = self.store.stage_dir(name) / "start.blend"
        if start.exists() and self.state["scene_at"] != str(start):
            self.host.call("restore", {"path": str(start)})
            self.state["scene_at"] = str(start)
        ss["status"] = "skipped"
        self._snapshot_stage_end(name)
        self._goto_stage(idx + 1)
        self._save()
        self.store.append_event({"kind": "skip", "stage": name})

    def _reopen_finished_run(self) -> None:
        """After a revert/rerun a finished run has work again: paused, resumable."""
        if self.state["status"] in ("done", "failed", "cancelled"):
            self.state["status"] = "paused"
            self.state.pop("error_type", None)

    # ---------------------------------------------------------------- phases
    def _phase_begin(self) -> StepResult:
        ref = self.state["reference"]
        self.host.call(
            "setup_scene",
            {
                "width": ref["width"],
                "height": ref["height"],
                "final_size": self.state["settings"]["final_size"],
            },
        )
        self.state["phase"] = "stage_start"
        return StepResult("setup", f"scene set up for a {ref['width']}x{ref['height']} photo")

    def _phase_stage_start(self) -> StepResult:
        stage = self.stage
        ss = self.state["stages"][stage.name]
        idx = self.state["stage_index"]
        if idx > 0 and self.state["scene_at"] is None:
            prev = self.store.stage_dir(self.state["stage_order"][idx - 1]) / "snapshot.blend"
            self._restore(prev)
        elif idx == 0 and stage.rollouts:
            self.host.call("reset_scene", {})
        self._snapshot(self.store.stage_dir(stage.name) / "start.blend")
        ss["status"] = "running"
        ss["round"] = 1
        ss["started"] = time.time()
        self.state["phase"] = "round_start"
        return StepResult(
            "stage", f"{stage.title}: started ({stage.budget} rounds)", {"stage": stage.name}
        )

    def _phase_round_start(self) -> StepResult:
        stage = self.stage
        ss = self.state["stages"][stage.name]
        n = ss["round"]
        base = self._round_base()
        if self.state["scene_at"] != str(base):
            self._restore(base)
        rdir = self.store.round_dir(stage.name, n)
        rdir.mkdir(parents=True, exist_ok=True)
        before = rdir / "before.png"
        if not before.exists():
            self._render(before)
        checklist = self._last_checklist()
        intro = [msg.text(f"Round {n} of {stage.budget} of the {stage.name} stage.")]
        if checklist:
            intro.append(
                msg.text(
                    "The verifier rejected the previous attempt. Fix these:\n- "
                    + "\n- ".join(checklist)
                )
            )
        hand = ss.pop("hand_edits", None)
        if hand:
            intro.append(
                msg.text(
                    "The artist edited the scene by hand since the last round "
                    f"(keep these edits): {json.dumps(hand)}"
                )
            )
        intro += [msg.text("Current render of the scene:"), msg.image(str(before))]
        previous = None if stage.rollouts else ss.get("generator_conv")
        ss["generator_conv_before_round"] = copy.deepcopy(previous)
        if previous is None:
            info = self._timed("other_tools", "get_scene_info", {})
            first = [msg.text("Reference photo:"), msg.image(str(self.store.reference))]
            if self.state["scene_graph"] and not stage.rollouts:
                first.append(
                    msg.text(
                        "Scene graph from initialization:\n" + json.dumps(self.state["scene_graph"])
                    )
                )
            first.append(msg.text("Scene now:\n" + info.get("text", "")))
            self.state["conv"] = {
                "stage": stage.name,
                "role": "generator",
                "system": stage.system_prompt("generator"),
                "messages": [msg.user(*first, *intro)],
            }
        else:
            self.state["conv"] = copy.deepcopy(previous)
            self.state["conv"]["messages"].append(msg.user(*intro))
        self.state["conv"]["turn"] = 0
        ss["code"] = []
        ss["summary"] = ""
        self.state["phase"] = "generator"
        return StepResult(
            "round", f"{stage.name} round {n}/{stage.budget}: generator", {"round": n}
        )

    def _phase_generator(self) -> StepResult:
        return self._conversation_step("generator")

    def _phase_verifier(self) -> StepResult:
        return self._conversation_step("verifier")

    def _phase_attempt(self) -> StepResult:
        stage = self.stage
        ss = self.state["stages"][stage.name]
        n = ss["round"]
        rdir = self.store.round_dir(stage.name, n)
        code = "\n\n".join(
            f"# --- execute_code #{i + 1} ({c['status']})\n{c['code']}"
            for i, c in enumerate(ss["code"])
        )
        write_text(rdir / "code.py", code + "\n")
        render = self._render(rdir / "render.png")
        self._snapshot(rdir / "snapshot.blend")
        attempt = {
            "round": n,
            "snapshot": str(rdir / "snapshot.blend"),
            "render": str(rdir / "render.png"),
            "summary": ss["summary"],
            "failed": ss.pop("round_failed", None),
        }
        if render.get("ok"):
            attempt["metrics"] = self._compare(rdir / "render.png")
        if stage.rollouts:
            attempt["scene_graph"] = ss.get("scene_graph")
            names = self._timed("other_tools", "object_names", {}).get("names", [])
            attempt["object_names"] = names
            attempt["coverage"] = selection.coverage(ss.get("scene_graph"), names)
        ss["attempts"].append(attempt)
        ss.pop("base_override", None)
        ss["generator_conv"] = self.state["conv"]
        write_json(rdir / "messages.json", {"generator": self.state["conv"]})
        if attempt["failed"]:
            self.state["phase"] = "round_end"
            return StepResult("round", f"round {n} failed: {attempt['failed']}", {"round": n})
        self._start_verifier(attempt)
        return StepResult(
            "render",
            f"{stage.name} round {n}: rendered, verifier next",
            {"round": n, "metrics": attempt.get("metrics")},
        )

    def _phase_round_end(self) -> StepResult:
        stage = self.stage
        ss = self.state["stages"][stage.name]
        n = ss["round"]
        attempt = ss["attempts"][-1]
        verdict = attempt.get("verdict") or {}
        write_json(
            self.store.round_dir(stage.name, n) / "verdict.json",
            {
                **verdict,
                "round": n,
                "metrics": attempt.get("metrics"),
                "coverage": attempt.get("coverage"),
                "failed": attempt.get("failed"),
            },
        )
        pause = self.state["settings"].get("pause_after") == "round"
        if verdict.get("approved") and not stage.rollouts:
            self.state["phase"] = "stage_end"
            ss["status_pending"] = "approved"
        elif n < stage.budget:
            ss["round"] = n + 1
            self.state["phase"] = "round_start"
        else:
            self.state["phase"] = "stage_end"
            ss["status_pending"] = "approved" if verdict.get("approved") else "budget_spent"
        if pause:
            self.pause(f"paused after {stage.name} round {n}")
        word = "approved" if verdict.get("approved") else "rejected"
        self._write_report()
        return StepResult(
            "round",
            f"{stage.name} round {n}: {word}",
            {"round": n, "approved": bool(verdict.get("approved"))},
        )

    def _phase_stage_end(self) -> StepResult:
        stage = self.stage
        ss = self.state["stages"][stage.name]
        pick = (selection.best_rollout if stage.rollouts else selection.best_attempt)(
            ss["attempts"]
        )
        override = ss.pop("base_override", None)
        if override:
            # the artist edited the scene by hand after the last round: their scene is the result
            if self.state["scene_at"] != override:
                self._restore(Path(override))
            ss["status"] = ss.pop("status_pending", "budget_spent")
            ss["best"] = pick["round"] if pick else None
            message = f"{stage.title}: kept the artist's hand edits"
        elif pick is None:
            ss["status"] = "failed"
            start = self.store.stage_dir(stage.name) / "start.blend"
            if self.state["scene_at"] != str(start):
                self._restore(start)
            message = f"{stage.title}: every attempt failed; the scene is as the stage began"
        else:
            if self.state["scene_at"] != pick["snapshot"]:
                self._restore(Path(pick["snapshot"]))
            ss["best"] = pick["round"]
            ss["status"] = ss.pop("status_pending", "budget_spent")
            if stage.rollouts:
                approved = (pick.get("verdict") or {}).get("approved")
                ss["status"] = "approved" if approved else "budget_spent"
            message = f"{stage.title}: {ss['status'].replace('_', ' ')}, kept round {pick['round']}"
        if stage.rollouts and pick:
            self.state["scene_graph"] = pick.get("scene_graph")
        ss["finished"] = time.time()
        self._snapshot_stage_end(stage.name)
        self._goto_stage(self.state["stage_index"] + 1)
        self._write_report()
        if self.state["settings"].get("stop_after") == stage.name:
            self.pause(f"stopped after {stage.name} as asked")
        elif (
            self.state["settings"].get("pause_after") == "stage" and self.state["phase"] != "final"
        ):
            self.pause(f"paused after {stage.name}")
        return StepResult(
            "stage", message, {"stage": stage.name, "status": ss["status"], "best": ss.get("best")}
        )

    def _phase_final(self) -> StepResult:
        last_stage = self.state["stages"][self.state["stage_order"][-1]]
        last = Path(
            last_stage.pop("base_override", None)
            or self.store.stage_dir(self.state["stage_order"][-1]) / "snapshot.blend"
        )
        if self.state["scene_at"] != str(last):
            self._restore(last)
        d = self.store.dir
        s = self.state["settings"]
        r = self._timed(
            "render",
            "render",
            {
                "preset": "final",
                "path": str(d / "final.png"),
                "long_side": s["final_size"],
                "samples": s["final_samples"],
                "device": s["render_device"],
                "engine": s["engine"],
            },
        )
        self._timed("other_tools", "save_blend", {"path": str(d / "final.blend")})
        self._timed("other_tools", "write_scene_py", {"path": str(d / "scene.py")})
        metrics = self._compare(d / "final.png") if r.get("ok") else {"error": r.get("error")}
        write_json(
            d / "metrics.json",
            {
                "final": metrics,
                "stages": {
                    name: {
                        "status": ss["status"],
                        "best": ss.get("best"),
                        "rounds": len(ss["attempts"]),
                        "metrics": [a.get("metrics") for a in ss["attempts"]],
                        "tokens": ss["tokens"],
                        "cost_usd": ss["cost_usd"],
                    }
                    for name, ss in self.state["stages"].items()
                },
                "totals": self.state["totals"],
                "timing": {**self.state["timing"], "elapsed": self.elapsed()},
            },
        )
        self.state["phase"] = "done"
        self.state["status"] = "done"
        self.state["message"] = f"done: {d / 'final.blend'}"
        self._write_report()
        return StepResult("done", self.state["message"], {"metrics": metrics})

    # ---------------------------------------------------------------- conversation
    def _conversation_step(self, role) -> StepResult:
        conv = self.state["conv"]
        stage = self.stage
        if self.state["pending"]:
            call = self.state["pending"][0]
            if (
                role == "generator"
                and call["name"] == "execute_code"
                and self.state["settings"].get("review_code")
                and not call.get("reviewed")
            ):
                code = (call.get("arguments") or {}).get("code")
                if isinstance(code, str):
                    self.state["review"] = {"code": code, "call_id": call["id"]}
                    self.state["status"] = "review"
                    self.state["message"] = "review the generator's code before it runs"
                    return StepResult("review", self.state["message"])
            self.state["pending"].pop(0)
            parts, is_error, control = self._run_tool(role, call)
            self.state["results"].append(msg.tool_result(call["id"], parts, is_error))
            if control:
                conv.setdefault("control", control)
            if not self.state["pending"]:
                conv["messages"].append({"role": "user", "content": self.state["results"]})
                self.state["results"] = []
            return StepResult(
                "tool", f"{role}: {call['name']}", {"tool": call["name"], "error": is_error}
            )
        control = conv.pop("control", None)
        limit = stage.max_generator_turns if role == "generator" else stage.max_verifier_turns
        if control == "end_round" or (role == "generator" and conv["turn"] >= limit):
            if control != "end_round":
                self.state["stages"][stage.name]["summary"] = "(turn limit reached)"
            self.state["phase"] = "attempt"
            return StepResult("tool", "generator finished the attempt")
        if control == "verdict":
            self.state["phase"] = "round_end"
            self.host.call("reset_view", {})
            return StepResult("tool", "verifier gave its verdict")
        if role == "verifier" and conv["turn"] >= limit:
            self._record_verdict(
                {
                    "approved": False,
                    "checklist": [],
                    "note": "the verifier used all its turns without a verdict",
                }
            )
            self.state["phase"] = "round_end"
            self.host.call("reset_view", {})
            return StepResult("tool", "verifier ran out of turns")
        return self._submit(role)

    def _submit(self, role) -> StepResult:
        conv = self.state["conv"]
        stage = self.stage
        s = self.state["settings"]
        ss = self.state["stages"][stage.name]
        tools = stage.generator_tools if role == "generator" else stage.verifier_tools
        from ..stages.toolspecs import specs

        sent = memory.compact(conv["messages"], s["memory"])
        request = {
            "system": conv["system"],
            "messages": sent,
            "tools": specs(tools),
            "max_tokens": s["max_tokens"],
            "meta": {"stage": stage.name, "role": role, "round": ss["round"], "turn": conv["turn"]},
        }
        self.client.submit(request)
        conv["turn"] += 1
        self.state["awaiting"] = {
            "role": role,
            "images": msg.images_in(sent),
            "submitted": time.time(),
        }
        self._request_started = time.monotonic()
        return StepResult(
            "request",
            f"{stage.name} {role}: asking the model",
            {"images": self.state["awaiting"]["images"]},
        )

    def _poll(self) -> StepResult:
        reply = self.client.poll()
        if reply is None:
            return StepResult("waiting", "waiting for the model")
        awaiting = self.state["awaiting"]
        self.state["awaiting"] = None
        if self._request_started is not None:
            self.state["timing"]["model"] += time.monotonic() - self._request_started
        else:
            self.state["timing"]["model"] += time.time() - awaiting["submitted"]
        role = awaiting["role"]
        stage = self.stage
        ss = self.state["stages"][stage.name]
        if not reply.ok:
            return self._request_failed(role, reply.error)
        response = reply.response
        usage = response.get("usage") or {}
        for totals in (self.state["totals"], ss["tokens"]):
            totals["input_tokens"] = totals.get("input_tokens", 0) + usage.get("input_tokens", 0)
            totals["output_tokens"] = totals.get("output_tokens", 0) + usage.get("output_tokens", 0)
            totals["images"] = totals.get("images", 0) + usage.get("images", awaiting["images"])
            totals["requests"] = totals.get("requests", 0) + 1
        cost = float(response.get("cost_usd") or 0.0)
        self.state["totals"]["cost_usd"] += cost
        ss["cost_usd"] += cost
        parts = []
        if response.get("text"):
            parts.append(msg.text(response["text"]))
        calls = response.get("tool_calls") or []
        for call in calls:
            parts.append(
                {
                    "type": "tool_call",
                    "id": call["id"],
                    "name": call["name"],
                    "arguments": call.get("arguments") or {},
                }
            )
        self.state["conv"]["messages"].append({"role": "assistant", "content": parts})
        if not calls:
            return self._request_failed(role, BadResponse("the model answered without a tool call"))
        self.state["pending"] = [dict(c, arguments=c.get("arguments") or {}) for c in calls]
        self.state["results"] = []
        self._save()
        names = ", ".join(c["name"] for c in calls)
        return StepResult(
            "response",
            f"{stage.name} {role}: model called {names}",
            {"usage": usage, "cost_usd": cost},
        )

    def _request_failed(self, role, error: VigaError) -> StepResult:
        kind = type(error).__name__
        text = str(error) or "request failed"
        stage = self.stage
        ss = self.state["stages"][stage.name]
        self.state["error_type"] = kind
        if error.disposition is Disposition.FATAL:
            self.state["status"] = "failed"
            self.state["message"] = text
            self._restart_interrupted_round()
            return StepResult("failed", text, {"error_type": kind})
        if error.disposition is Disposition.FAIL_ROUND:
            # the round fails cleanly; the run goes on
            if role == "generator":
                ss["round_failed"] = text
                self._discard_round_changes()
                self.state["phase"] = "attempt"
            else:
                self._record_verdict(
                    {"approved": False, "checklist": [], "note": f"verifier failed: {text}"}
                )
                self.state["phase"] = "round_end"
                self.host.call("reset_view", {})
            return StepResult("round", f"{stage.name} {role}: {text}", {"error_type": kind})
        # RETRY (still failing after the provider's own retries) or PAUSE: pause, resumable
        self._restart_interrupted_round()
        self.state["status"] = "paused"
        self.state["message"] = f"{kind}: {text} — paused; resume to retry this round"
        return StepResult("paused", self.state["message"], {"error_type": kind})

    # ---------------------------------------------------------------- tools
    def _run_tool(self, role, call) -> tuple[list[dict], bool, str | None]:
        """Run one tool call; returns (result parts, is_error, control signal)."""
        stage = self.stage
        allowed = stage.generator_tools if role == "generator" else stage.verifier_tools
        name, args = call["name"], call.get("arguments") or {}
        if not isinstance(args, dict):
            return [msg.text(f"{name}: arguments must be a JSON object")], True, None
        if name not in allowed:
            return (
                [
                    msg.text(
                        f"Unknown tool {name!r} for the {role}; available: {', '.join(allowed)}"
                    )
                ],
                True,
                None,
            )
        handler = getattr(self, f"_tool_{name}", None)
        if handler is not None:
            return handler(call, args)
        return self._host_tool(name, args)

    def _host_tool(self, name, args):
        rdir = self.store.round_dir(self.stage.name, self.state["stages"][self.stage.name]["round"])
        category = (
            "render"
            if name in ("initialize_viewpoint", "set_camera", "investigate")
            else "other_tools"
        )
        if category == "render":
            args = {**args, "out_dir": str(rdir / "views")}
        result = self._timed(category, name, args)
        return _result_parts(result), not result.get("ok", False), None

    def _tool_make_plan(self, call, args):
        plan = args.get("plan")
        if not isinstance(plan, str):
            return [msg.text("make_plan needs 'plan' (a string)")], True, None
        ss = self.state["stages"][self.stage.name]
        ss["plan"] = plan
        graph = args.get("scene_graph")
        if self.stage.rollouts:
            problem = selection.validate_scene_graph(graph)
            if problem:
                return (
                    [
                        msg.text(
                            f"Plan recorded, but the scene graph is unusable: {problem}. "
                            "Call make_plan again with a valid scene_graph."
                        )
                    ],
                    True,
                    None,
                )
            ss["scene_graph"] = graph
            leaves = selection.scene_graph_leaves(graph)
            return (
                [
                    msg.text(
                        f"Plan and scene graph recorded ({len(leaves)} leaf parts: "
                        f"{', '.join(leaves)}). Create one object per leaf, named exactly."
                    )
                ],
                False,
                None,
            )
        return [msg.text("Plan recorded.")], False, None

    def _tool_execute_code(self, call, args):
        code = args.get("code")
        if not isinstance(code, str):
            return [msg.text("execute_code needs 'code' (a string of Python)")], True, None
        ss = self.state["stages"][self.stage.name]
        if call.get("reviewed") == "skipped":
            ss["code"].append({"code": code, "status": "skipped by the artist"})
            return [msg.text("The artist skipped this code; it did not run.")], True, None
        result = self._timed(
            "execute", "execute_code", {"code": code, "scope": list(self.stage.scope)}
        )
        if result.get("ok") or not result.get("restored"):
            self.state["scene_at"] = None
        status = "ok" if result.get("ok") else "error"
        if call.get("reviewed") == "edited":
            status += ", edited by the artist"
        ss["code"].append({"code": code, "status": status})
        parts = _result_parts(result)
        if call.get("reviewed") == "edited":
            parts.insert(
                0, msg.text(f"The artist edited your code before it ran; this is what ran:\n{code}")
            )
        return parts, not result.get("ok", False), None

    def _tool_render_view(self, call, args):
        ss = self.state["stages"][self.stage.name]
        rdir = self.store.round_dir(self.stage.name, ss["round"])
        k = len(list((rdir / "views").glob("view_*.png"))) if (rdir / "views").exists() else 0
        result = self._render(rdir / "views" / f"view_{k + 1}.png")
        return _result_parts(result), not result.get("ok", False), None

    def _tool_revert_last(self, call, args):
        result = self._timed("other_tools", "revert_last", {})
        if result.get("ok"):
            self.state["scene_at"] = None
        return _result_parts(result), not result.get("ok", False), None

    def _tool_refine_parameters(self, call, args):
        targets = args.get("targets")
        if isinstance(targets, str):
            targets = [targets]
        if (
            not isinstance(targets, list)
            or not targets
            or not all(isinstance(t, str) for t in targets)
        ):
            return (
                [
                    msg.text(
                        "refine_parameters needs 'targets': a list of groups or parameter "
                        'names, e.g. ["lighting"] or ["light:Sun.energy"]'
                    )
                ],
                True,
                None,
            )
        budget = args.get("budget", 30)
        if isinstance(budget, bool) or not isinstance(budget, int) or not 1 <= budget <= 200:
            return (
                [
                    msg.text(
                        "refine_parameters 'budget' must be a whole number of renders "
                        "between 1 and 200"
                    )
                ],
                True,
                None,
            )
        ss = self.state["stages"][self.stage.name]
        rdir = self.store.round_dir(self.stage.name, ss["round"])
        k = len(list(rdir.glob("refine_*"))) if rdir.exists() else 0
        result = self._timed(
            "render",
            "refine_parameters",
            {
                "targets": targets,
                "budget": budget,
                "photo": str(self.store.reference),
                "objects": args.get("objects"),
                "allowed_groups": list(self.stage.extra.get("refine_groups", ())),
                "out_dir": str(rdir / f"refine_{k + 1}"),
            },
        )
        if result.get("ok") and result.get("improved"):
            self.state["scene_at"] = None
        return _result_parts(result), not result.get("ok", False), None

    def _tool_end_round(self, call, args):
        summary = args.get("summary")
        self.state["stages"][self.stage.name]["summary"] = (
            summary if isinstance(summary, str) else ""
        )
        return [msg.text("Attempt submitted to the verifier.")], False, "end_round"

    def _tool_submit_verdict(self, call, args):
        approved = args.get("approved")
        checklist = args.get("checklist", [])
        if not isinstance(approved, bool):
            return [msg.text("submit_verdict needs 'approved' (true or false)")], True, None
        if isinstance(checklist, str):
            checklist = [checklist]
        if not isinstance(checklist, list) or not all(isinstance(c, str) for c in checklist):
            return [msg.text("submit_verdict 'checklist' must be a list of strings")], True, None
        rounds = [a["round"] for a in self.state["stages"][self.stage.name]["attempts"]]
        best = args.get("best_attempt")
        note = None
        if not isinstance(best, int) or best not in rounds:
            note = f"best_attempt {best!r} is not one of the rounds {rounds}; using {rounds[-1]}"
            best = rounds[-1]
        score = args.get("score")
        verdict = {
            "approved": approved,
            "checklist": checklist,
            "best_attempt": best,
            "score": score if isinstance(score, int | float) else None,
        }
        if note:
            verdict["note"] = note
        self._record_verdict(verdict)
        return (
            [msg.text("Verdict recorded." + (f" Note: {note}" if note else ""))],
            False,
            "verdict",
        )

    # ---------------------------------------------------------------- helpers
    def _start_verifier(self, attempt):
        stage = self.stage
        ss = self.state["stages"][stage.name]
        rounds = [a["round"] for a in ss["attempts"] if not a.get("failed")]
        parts = [
            msg.text("Reference photo:"),
            msg.image(str(self.store.reference)),
            msg.text(f"Attempt of round {attempt['round']} of {stage.budget}:"),
            msg.image(attempt["render"]),
            msg.text(
                f"Rounds with attempts so far: {rounds}. Generator's summary: "
                f"{attempt['summary'] or '(none)'}"
            ),
        ]
        if attempt.get("metrics"):
            m = attempt["metrics"]
            parts.append(
                msg.text(
                    f"Pixel metrics against the photo: PSNR {m.get('psnr')}, SSIM {m.get('ssim')}"
                )
            )
        if stage.rollouts and attempt.get("scene_graph"):
            parts.append(
                msg.text(
                    "Scene graph of this rollout:\n"
                    + json.dumps(attempt["scene_graph"])
                    + f"\nCoverage of its leaves: {attempt.get('coverage')}"
                )
            )
        checklist = self._last_checklist(before_current=True)
        if checklist:
            parts.append(msg.text("Previous checklist:\n- " + "\n- ".join(checklist)))
        self.state["conv"] = {
            "stage": stage.name,
            "role": "verifier",
            "system": stage.system_prompt("verifier"),
            "messages": [msg.user(*parts)],
            "turn": 0,
        }
        self.state["phase"] = "verifier"

    def _record_verdict(self, verdict):
        ss = self.state["stages"][self.stage.name]
        ss["attempts"][-1]["verdict"] = verdict
        n = ss["round"]
        path = self.store.round_dir(self.stage.name, n) / "messages.json"
        write_json(path, {"generator": ss.get("generator_conv"), "verifier": self.state["conv"]})

    def _last_checklist(self, before_current=False):
        attempts = self.state["stages"][self.stage.name]["attempts"]
        if before_current:
            attempts = attempts[:-1]
        for a in reversed(attempts):
            v = a.get("verdict")
            if v:
                return v.get("checklist") or []
        return []

    def _round_base(self) -> Path:
        stage = self.stage
        ss = self.state["stages"][stage.name]
        if ss.get("base_override"):
            return Path(ss["base_override"])
        done = [a for a in ss["attempts"] if not a.get("failed") and a["round"] < ss["round"]]
        if stage.rollouts or not done:
            return self.store.stage_dir(stage.name) / "start.blend"
        return Path(done[-1]["snapshot"])

    def _restart_interrupted_round(self):
        """Forget a half-done round: it restarts from the snapshot it began with."""
        st = self.state
        if st["phase"] in ("generator", "verifier", "attempt"):
            ss = st["stages"][self.stage.name]
            n = ss["round"]
            ss["attempts"] = [a for a in ss["attempts"] if a["round"] < n]
            ss["generator_conv"] = ss.get("generator_conv_before_round")
            ss.pop("round_failed", None)
            st["conv"] = None
            st["phase"] = "round_start"
        st["pending"] = []
        st["results"] = []
        st["awaiting"] = None
        st["review"] = None
        st["scene_at"] = None

    def _discard_round_changes(self):
        self.state["pending"] = []
        self.state["results"] = []

    def _cancel_request(self):
        if self.state["awaiting"] and self.client is not None:
            self.client.cancel()
        self.state["awaiting"] = None
        self.state["pending"] = []
        self.state["results"] = []
        self.state["review"] = None
        if self.state["status"] in ("cancelled", "review"):
            self.state["status"] = "paused"

    def _goto_stage(self, idx):
        self.state["stage_index"] = min(idx, len(self.stages) - 1)
        self.state["phase"] = "stage_start" if idx < len(self.stages) else "final"
        self.state["conv"] = None

    def _stage_named(self, name):
        return next(s for s in self.stages if s.name == name)

    def _snapshot_stage_end(self, name):
        self._snapshot(self.store.stage_dir(name) / "snapshot.blend")

    def _snapshot(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        result = self._timed("other_tools", "snapshot", {"path": str(path)})
        if not result.get("ok"):
            raise RuntimeError(f"snapshot failed: {result.get('error')}")
        self.state["scene_at"] = str(path)

    def _restore(self, path: Path):
        result = self._timed("other_tools", "restore", {"path": str(path)})
        if not result.get("ok"):
            raise RuntimeError(f"restore of {path} failed: {result.get('error')}")
        self.state["scene_at"] = str(path)

    def _render(self, path: Path) -> dict:
        s = self.state["settings"]
        return self._timed(
            "render",
            "render",
            {
                "preset": "preview",
                "path": str(path),
                "long_side": s["preview_size"],
                "samples": s["preview_samples"],
                "device": s["render_device"],
                "engine": s["engine"],
            },
        )

    def _compare(self, path: Path) -> dict:
        result = self._timed(
            "other_tools", "compare", {"render": str(path), "photo": str(self.store.reference)}
        )
        return {k: result.get(k) for k in ("psnr", "ssim", "note") if result.get(k) is not None}

    def _timed(self, category, name, args) -> dict:
        t0 = time.monotonic()
        try:
            return self.host.call(name, args)
        finally:
            self.state["timing"][category] += time.monotonic() - t0

    def _write_report(self) -> None:
        """report.html beside the run (~50 ms); a report problem never stops the run."""
        try:
            from .report import write_report

            write_report(self.store.dir, state=self.state)
        except Exception as e:
            self.store.append_event({"kind": "report_error", "message": f"{type(e).__name__}: {e}"})

    def _save(self):
        self.state["elapsed"] = self.elapsed()
        self.store.save_state(self.state)


_LOW_DISK = 64 << 20  # bytes: below this a failed write is taken for a full disk


def _disk_full_message(exc: BaseException, run_dir: Path) -> str | None:
    """A clear message when ``exc`` came from a full disk (ENOSPC, or a write that failed with
    almost no space left: Blender's own writers report other errors), else None."""
    import errno
    import shutil

    full = isinstance(exc, OSError) and exc.errno == errno.ENOSPC
    try:
        free = shutil.disk_usage(run_dir).free
    except OSError:
        free = None
    if not full and not (
        free is not None and free < _LOW_DISK and isinstance(exc, (OSError, RuntimeError))
    ):
        return None
    left = f" ({free // 1024} KB free)" if free is not None else ""
    return (
        f"Disk full: could not write to {run_dir}{left}: {exc}. Free some space and resume "
        "the run; every completed round is kept."
    )


def _new_stage_state(stage) -> dict:
    return {
        "status": "waiting",
        "round": 0,
        "budget": stage.budget,
        "attempts": [],
        "best": None,
        "tokens": {},
        "cost_usd": 0.0,
    }


def _result_parts(result: dict) -> list[dict]:
    """A host result as message parts: its images as image parts, the rest as compact JSON."""
    result = dict(result)
    images = []
    if result.get("path") and str(result["path"]).endswith(".png"):
        images.append(result.pop("path"))
    for item in result.pop("images", []) or []:
        if isinstance(item, dict) and item.get("path"):
            images.append(item["path"])
        elif isinstance(item, str):
            images.append(item)
    text = result.pop("text", None)
    body = json.dumps(result, default=str)
    if len(body) > 4000:
        body = body[:4000] + " …[cut]"
    parts = [msg.text(text + "\n" + body if text else body)]
    parts += [msg.image(p) for p in images]
    return parts
