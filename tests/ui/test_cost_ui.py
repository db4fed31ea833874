"""The cost cap and the estimate in the sidebar and the preferences: the estimate before a
run, the Max cost field, and a run stopped at its cap that Resume continues under a raised
one (real bpy, the add-on enabled, the panel drawn into a recording layout)."""

from __future__ import annotations

import bpy
import pytest
from ui_support import draw_panel, use_demo

from viga_addon.ui import live as rt
from viga_addon.ui.panels import main_panel as mp


@pytest.mark.smoke
def test_the_panel_estimates_a_run_and_shows_the_cap_field(addon, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    use_demo()
    bpy.context.scene.viga.provider = "anthropic"
    addon.max_cost = 2.5
    shown = draw_panel(mp.VIGA_PT_main)
    text = shown.texts()
    assert "Est. $" in text
    assert "Estimate: about $" in shown.tips() and "with claude-sonnet-4-6" in shown.tips()
    assert any(it.get("prop") == "max_cost" for it in shown.items if it["kind"] == "prop")
    settings = rt.settings_from_prefs(addon)
    assert settings.max_cost == 2.5 and settings.tool_protocol == "auto"
    addon.tool_protocol = "TEXT"
    assert rt.settings_from_prefs(addon).tool_protocol == "text"


def test_a_capped_run_goes_on_under_the_cap_raised_in_the_preferences(addon):
    class Session:  # only what raise_cost_cap reads and writes
        def __init__(self, state):
            self.state = state

    from viga_addon.agent.settings import Settings
    from viga_addon.agent.state import RunState, RunStatus

    state = RunState(settings=Settings(max_cost=1.0), reference={}, stage_order=[], stages={})
    state.status, state.error_type = RunStatus.PAUSED, "CostCapReached"
    session = Session(state)
    addon.max_cost = 3.0
    rt.raise_cost_cap(session, addon)
    assert session.state.settings.max_cost == 3.0
    state.error_type = None  # a pause for another reason leaves the cap alone
    addon.max_cost = 9.0
    rt.raise_cost_cap(session, addon)
    assert session.state.settings.max_cost == 3.0
