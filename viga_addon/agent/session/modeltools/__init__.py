"""The model's tools: one record per tool (``record.Tool``: its schema, argument check, timing
category and handler), declared once; which tools a stage offers is the stage's own list
(``stages/base.py``). A tool the host runs as it is needs only its record and, in Blender, the
host's method ``tool_<name>`` (tools/host.py).

record      Tool, ToolOutcome, host results as message parts
building    make_plan, execute_code, get_scene_info, revert_last, refine_parameters, end_round
looking     render_view, initialize_viewpoint, set_camera, investigate, set_visibility
judging     submit_verdict, select_rollout
settling    check_physics (the settle check)
moving      bake_simulation (the interaction stage)
registry    REGISTRY (every tool by name), specs (what a request offers), run_tool
"""

from .record import Tool, ToolOutcome
from .registry import REGISTRY, run_tool, specs

__all__ = ["REGISTRY", "Tool", "ToolOutcome", "run_tool", "specs"]
