"""The staged reconstruction as a step-able state machine (no bpy).

``Session.step()`` does one unit of work — submit or poll one model request, or run one tool call
through the host — and returns quickly with a typed ``StepResult``. The CLI pumps it in a loop,
the modal operator pumps it on timer events: there is no second copy of the loop. The state
(``agent.state.RunState``) is written to ``state.json`` after every step, so a run resumes after
a crash with every completed round kept (an interrupted round restarts from its snapshot).

core       Session: create / resume / step (the only place a waiting phase is advanced)
base       SessionBase: the run's parts and the helpers every phase shares (renders that wait)
controls   what the artist does between steps: cancel, code review, hand edits, revert / rerun /
           skip
phases     the phase table: one handler per phase of a stage; a phase that waits is a generator
attempt    the attempt phase: render, snapshot, metrics, comparison images, the verifier starts
rounds     a round's pieces: the verifier's and the selector's start, verdicts, history
turns      a conversation's turns: run tool calls, submit, poll, failed requests, the verifier
modeltools/  the model's tools, one record each (schema, check, timing, handler)
physics    the settle check in a run: check_physics results in the attempts, the final check
interaction  the interaction stage: the prompt, the attempt as a bake, the final bake, preview.gif
offthread  the worker thread for image work (``yield from s.offthread.run(...)``)
editing    the start of a run that edits an existing scene
events     StepKind, StepResult, and Wait (what a waiting phase yields)

Imports run one way: events, offthread -> base -> physics, controls, rounds -> interaction ->
attempt, modeltools, turns, editing -> phases -> core.

May import: the rest of agent/ and stages/; never bpy, never tools/ (Blender is reached only
through the host).
"""

from .core import Session, disk_full_message
from .events import StepKind, StepResult

__all__ = ["Session", "StepKind", "StepResult", "disk_full_message"]
