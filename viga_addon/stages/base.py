"""What defines a stage: prompts, round budget, tools and the scope of edits it may make."""

from __future__ import annotations

from dataclasses import dataclass, replace

# The tools a stage offers each role, by name (their schemas and handlers are agent/'s registry).
GENERATOR_TOOLS = (
    "make_plan",
    "execute_code",
    "get_scene_info",
    "render_view",
    "revert_last",
    "end_round",
)
REFINE_GENERATOR_TOOLS = (*GENERATOR_TOOLS[:-1], "refine_parameters", "end_round")
VERIFIER_TOOLS = (
    "get_scene_info",
    "initialize_viewpoint",
    "set_camera",
    "investigate",
    "set_visibility",
    "submit_verdict",
)

# What a stage may change; checked against execute_code's change report (see tools/scope).
SCOPES = (
    "objects",
    "meshes",
    "modifiers",
    "materials",
    "transforms",
    "camera",
    "lights",
    "world",
    "render",
)

_COMMON_GENERATOR = """\
You rebuild the reference photo as an editable Blender scene, working only through the tools.
Write bpy code with execute_code; keep every object under a stable, descriptive name (never
rename objects created by earlier stages). Inspect with get_scene_info and render_view, undo a
regression with revert_last, and call end_round with a short summary when this attempt is done.
Prefer several small execute_code calls to one huge one."""

_COMMON_VERIFIER = """\
You compare the render of the current attempt with the reference photo, for this stage's factor
only: ignore mismatches that belong to other stages. Inspect with the tools when useful, then call
submit_verdict exactly once: approved=true only when this stage's factor matches well; otherwise a
checklist of concrete, actionable fixes (object names, numbers, directions). best_attempt is the
round number of the best attempt so far (you are told which rounds exist)."""


@dataclass(frozen=True)
class Stage:
    name: str
    title: str
    budget: int
    generator_focus: str
    verifier_focus: str
    scope: tuple[str, ...]
    generator_tools: tuple[str, ...] = GENERATOR_TOOLS
    verifier_tools: tuple[str, ...] = VERIFIER_TOOLS
    max_generator_turns: int = 10
    max_verifier_turns: int = 6
    # init: rounds are independent rollouts from an empty scene, the best one is kept
    rollouts: bool = False
    # the refine_parameters groups this stage may tune (refine_parameters needs at least one)
    refine_groups: tuple[str, ...] = ()

    def system_prompt(self, role: str) -> str:
        """First line names the stage and role (keeps runs comparable and scripts addressable)."""
        head = f"Stage: {self.name} — {role.capitalize()}"
        if role == "generator":
            body = f"{_COMMON_GENERATOR}\n\nThis stage: {self.generator_focus}"
        else:
            body = f"{_COMMON_VERIFIER}\n\nThis stage: {self.verifier_focus}"
        allowed = ", ".join(self.scope)
        return f"{head}\n{body}\n\nEdits allowed in this stage: {allowed}."

    def with_budget(self, budget: int) -> Stage:
        return replace(self, budget=budget)
