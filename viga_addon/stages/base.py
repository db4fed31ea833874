"""What defines a stage: prompts, round budget, tools and the scope of edits it may make.

A stage's system prompt is its first line ("Stage: <name> — <Role>", which scripts and tests
address turns by and which never changes), the common text of the role, the stage's focus, its
scope, the model's world (stages/world.py: Blender version, units and axes, the code policy, the
API renames) and one worked example: runnable execute_code code for the generator, the expected
submit_verdict call for the verifier.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

from . import world

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
# the settle check (rigid bodies, 2 s of gravity): the composition stage offers it to both roles
PHYSICS_TOOL = "check_physics"
# init's selector compares every rollout at once (one request) and picks one
SELECTOR_TOOLS = ("select_rollout",)
# the moves of the verifier's investigate tool (its schema offers them, tools/render/viewing does them)
INVESTIGATE_OPERATIONS = (
    "orbit_left",
    "orbit_right",
    "orbit_up",
    "orbit_down",
    "zoom_in",
    "zoom_out",
    "focus",
    "reset",
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
    "physics",
    "animation",
    "new_objects",
)
# the reconstruction's scopes: rigid bodies, fields and keyframes are the interaction's alone
RECONSTRUCTION_SCOPES = SCOPES[:-3]
# The interaction stage's extra tool: the rigid-body bake in the render process, frames back.
INTERACTION_GENERATOR_TOOLS = (*GENERATOR_TOOLS[:-1], "bake_simulation", "end_round")

_COMMON_GENERATOR = """\
You rebuild the reference photo as an editable Blender scene, working only through the tools.
Write bpy code with execute_code; keep every object under a stable, descriptive name (never
rename objects created by earlier stages). Inspect with get_scene_info and render_view, undo a
regression with revert_last, and call end_round with a short summary when this attempt is done.
Prefer several small execute_code calls to one huge one. render_view looks from the photo's
camera by default; give it view="front"/"side"/"top" or azimuth/elevation to check shapes and
placement from elsewhere, and isolate=[names] to see some objects alone."""

_COMMON_VERIFIER = """\
You compare the render of the current attempt with the reference photo, for this stage's factor
only: ignore mismatches that belong to other stages. Inspect with the tools when useful, then call
submit_verdict exactly once: approved=true only when this stage's factor matches well; otherwise a
checklist of concrete, actionable fixes (object names, numbers, directions). best_attempt is the
round number of the best attempt so far (you are told which rounds exist)."""

_COMMON_SELECTOR = """\
Several independent rollouts each built a coarse scaffold of the reference photo from its own
scene graph. You see the photo, a labelled sheet of every rollout's render with its pixel metrics,
and each rollout's scene graph, coverage and verifier verdict. Compare them all at once and call
select_rollout exactly once: the rollout whose scaffold will be the best base for the later
stages (every visible part present as its own named object, in roughly the right place and size,
with a graph that decomposes the photo well). Score every rollout 0-10; metrics only break ties."""


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
    selector_tools: tuple[str, ...] = SELECTOR_TOOLS
    max_generator_turns: int = 10
    max_verifier_turns: int = 6
    max_selector_turns: int = 3
    # init: rounds are independent rollouts from an empty scene, the best one is kept
    rollouts: bool = False
    # the refine_parameters groups this stage may tune (refine_parameters needs at least one)
    refine_groups: tuple[str, ...] = ()
    # one execute_code call of this stage, runnable in pipeline order from an empty scene
    # (tests/agent/test_prompts.py runs each under its stage's scope)
    generator_example: str = ""
    # the submit_verdict arguments a good verifier of this stage would send
    verifier_example: dict = field(default_factory=dict, hash=False)
    # a sentence on what this stage's scope check rolls back, e.g. a material in geometry
    scope_note: str = ""

    def tools_for(self, role: str) -> tuple[str, ...]:
        """The tools ``role`` ("generator", "verifier" or, for rollouts, "selector") is offered."""
        return {
            "generator": self.generator_tools,
            "verifier": self.verifier_tools,
            "selector": self.selector_tools,
        }[role]

    def max_turns(self, role: str) -> int:
        return {
            "generator": self.max_generator_turns,
            "verifier": self.max_verifier_turns,
            "selector": self.max_selector_turns,
        }[role]

    def system_prompt(self, role: str, blender_version: str | None = None) -> str:
        """The system prompt of ``role`` ("generator", "verifier" or "selector").
        ``blender_version`` is the running Blender's version (the host's ``blender_info`` tool:
        "5.2.3"); without it
        the prompt speaks of Blender 4.2 LTS or newer. The first line names the stage and role
        (keeps runs comparable and scripts addressable) and never changes."""
        head = f"Stage: {self.name} — {role.capitalize()}"
        allowed = ", ".join(self.scope)
        if role == "selector":
            return head + "\n" + _COMMON_SELECTOR
        if role == "generator":
            sections = [
                _COMMON_GENERATOR,
                f"This stage: {self.generator_focus}",
                f"Edits allowed in this stage: {allowed}.",
                world.scope_text(self.scope, role, self.scope_note),
                world.generator_world(blender_version),
            ]
            if self.generator_example:
                sections.append(
                    "Worked example (one execute_code call of this stage; adapt names and "
                    f"numbers to the photo):\n```python\n{self.generator_example.rstrip()}\n```"
                )
        else:
            sections = [
                _COMMON_VERIFIER,
                f"This stage: {self.verifier_focus}",
                f"Edits allowed in this stage: {allowed}.",
                world.scope_text(self.scope, role),
                world.verifier_world(blender_version),
            ]
            if self.verifier_example:
                example = json.dumps(self.verifier_example, ensure_ascii=False)
                sections.append(
                    "Worked example (the shape of a submit_verdict call; analysis first, one "
                    f"line per item of the previous checklist):\nsubmit_verdict({example})"
                )
        return head + "\n" + "\n\n".join(sections)

    def with_budget(self, budget: int) -> Stage:
        return replace(self, budget=budget)
