"""The staged reconstruction as a step-able state machine (no bpy).

``Session.step()`` does one unit of work — submit or poll one model request, or run one tool call
through the host — and returns quickly with a typed ``StepResult``. The CLI pumps it in a loop,
the modal operator pumps it on timer events: there is no second copy of the loop. The state
(``agent.state.RunState``) is written to ``state.json`` after every step, so a run resumes after
a crash with every completed round kept (an interrupted round restarts from its snapshot).

core       Session: create / resume / step, and the helpers the rest shares
phases     the phase table: one handler per phase of a stage
turns      a conversation's turns: run tool calls, submit, poll, failed requests, the verifier
controls   pause, cancel, code review, hand edits, revert / rerun / skip
toolcalls  the tool registry (schema, check, timing, handler) and the host results as messages
toolspecs  the tools' schemas
physics    the settle check in a run: check_physics results in the attempts, the final check
events     StepKind and StepResult

May import: the rest of agent/ and stages/; never bpy, never tools/ (Blender is reached only
through the host).
"""

from .core import Session, disk_full_message
from .events import StepKind, StepResult

__all__ = ["Session", "StepKind", "StepResult", "disk_full_message"]
