"""One module per stage: prompts, round budget, tools, refine groups and scope of edits.

init geometry material composition lighting camera   the reconstruction stages (``STAGES``)
interaction  a prompt's event played by rigid-body physics, after them when a run has one
base world   what a stage is; the model's world in words

Pure data that agent/ reads: imports nothing but the standard library (no bpy, nothing from
agent/ or tools/). ``base.Stage`` is what a stage is; each module defines one ``STAGE``.

base        Stage, the roles' tool lists, the scopes and the prompts every stage shares
init, geometry, material, composition, lighting, camera   one stage each
world       the model's world in words: Blender version, units, the code policy, scopes, API renames
"""

from collections.abc import Sequence

from . import camera, composition, geometry, init, interaction, lighting, material
from .base import GENERATOR_TOOLS, REFINE_GENERATOR_TOOLS, SCOPES, VERIFIER_TOOLS, Stage

STAGES: tuple[Stage, ...] = (
    init.STAGE,
    geometry.STAGE,
    material.STAGE,
    composition.STAGE,
    lighting.STAGE,
    camera.STAGE,
)
STAGE_NAMES = tuple(s.name for s in STAGES)
# every stage a run may have: the reconstruction stages, then the interaction (only when asked)
ALL_STAGES: tuple[Stage, ...] = (*STAGES, interaction.STAGE)
ALL_STAGE_NAMES = tuple(s.name for s in ALL_STAGES)
INTERACTION = interaction.NAME


def build_stages(
    names: Sequence[str] | None = None, budgets: dict[str, int] | None = None
) -> list[Stage]:
    """The stages to run, in pipeline order, with budgets overridden where given (the
    interaction stage only when named)."""
    names = list(names or STAGE_NAMES)
    unknown = [n for n in names if n not in ALL_STAGE_NAMES]
    if unknown:
        raise ValueError(
            f"unknown stage(s) {', '.join(unknown)}; stages are {', '.join(ALL_STAGE_NAMES)}"
        )
    budgets = budgets or {}
    bad = [n for n in budgets if n not in ALL_STAGE_NAMES]
    if bad:
        raise ValueError(f"budget for unknown stage(s) {', '.join(bad)}")
    out = []
    for stage in ALL_STAGES:
        if stage.name in names:
            b = budgets.get(stage.name, stage.budget)
            if b < 1:
                raise ValueError(f"budget for {stage.name} must be at least 1 round, got {b}")
            out.append(stage.with_budget(b))
    return out


__all__ = [
    "ALL_STAGES",
    "ALL_STAGE_NAMES",
    "INTERACTION",
    "GENERATOR_TOOLS",
    "REFINE_GENERATOR_TOOLS",
    "SCOPES",
    "STAGES",
    "STAGE_NAMES",
    "VERIFIER_TOOLS",
    "Stage",
    "build_stages",
]
