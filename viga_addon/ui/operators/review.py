"""Step-through: the generator's code waits in a Text datablock for Approve or Skip."""

from __future__ import annotations

import bpy

from ...agent.state import joined_code
from .. import live as rt


def _reviewing(context):
    live = rt.live_run(context.scene)
    return live if live is not None and live.status == "review" else None


class VIGA_OT_approve_code(bpy.types.Operator):
    """Run the generator's code as it is now in the "VIGA code" text (your edits included)"""

    bl_idname = "viga.approve_code"
    bl_label = "Approve Code"

    @classmethod
    def poll(cls, context):
        return _reviewing(context) is not None

    def execute(self, context):
        live = _reviewing(context)
        if live is None:
            self.report({"ERROR"}, "No code is waiting for review.")
            return {"CANCELLED"}
        text = bpy.data.texts.get(rt.CODE_TEXT_NAME)
        if text is None:
            self.report(
                {"WARNING"},
                f"The {rt.CODE_TEXT_NAME!r} text is gone; running the generator's code unchanged.",
            )
            live.session.approve_code(None)
        else:
            code = rt.code_from_text(text)
            original = live.session.code_under_review
            live.session.approve_code(None if code.strip() == (original or "").strip() else code)
        live.paused_fp = None
        rt.redraw(context)
        return {"FINISHED"}


class VIGA_OT_skip_code(bpy.types.Operator):
    """Do not run this code; the generator is told you skipped it"""

    bl_idname = "viga.skip_code"
    bl_label = "Skip Code"

    @classmethod
    def poll(cls, context):
        return _reviewing(context) is not None

    def execute(self, context):
        live = _reviewing(context)
        if live is None:
            self.report({"ERROR"}, "No code is waiting for review.")
            return {"CANCELLED"}
        live.session.skip_code()
        rt.redraw(context)
        return {"FINISHED"}


class VIGA_OT_open_code(bpy.types.Operator):
    """Show the current round's code (or the code under review) in a Text editor"""

    bl_idname = "viga.open_code"
    bl_label = "Open Code"

    def execute(self, context):
        live = rt.live_run(context.scene)
        if live is None:
            self.report({"ERROR"}, "No run in this scene.")
            return {"CANCELLED"}
        session = live.session
        if session.code_under_review is not None:
            text = rt.show_review(live)  # the artist's edits so far stay
        else:
            code, title = current_code(session)
            if code is None:
                self.report({"WARNING"}, "No code yet in this run.")
                return {"CANCELLED"}
            text = rt.show_code_text(code, title)
        if not rt.show_in_editor(context, "TEXT_EDITOR", "text", text):
            self.report(
                {"INFO"},
                f"VIGA: the code is in the Text datablock {text.name!r} "
                "(open a Text Editor to see it)",
            )
        return {"FINISHED"}


def current_code(session):
    """(code, title) of the newest round that has code: this round's, else the last code.py."""
    st = session.state
    for name in reversed(st.stage_order[: st.stage_index + 1]):
        ss = st.stages[name]
        if name == session.stage.name and ss.code:
            return joined_code(ss.code), f"{name} round {ss.round} (running)"
        for n in range(ss.round or 0, 0, -1):
            path = session.store.round_dir(name, n) / "code.py"
            if path.is_file():
                return path.read_text(), f"{name} round {n}: {path}"
    return None, ""


CLASSES = (VIGA_OT_approve_code, VIGA_OT_skip_code, VIGA_OT_open_code)
