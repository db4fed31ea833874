"""Debian's own Blender (the system Python): what it lacks is bundled or named.

Without numpy the add-on still registers and says what to install; with it, a real provider
request goes from the window through the real anthropic SDK to a local fake server."""

from __future__ import annotations

from fake_model_server import fake_server
from scripted_model import script_responder
from scripts import TINY_PREFS, demo_script
from window import set_prefs, wait_for

from viga_addon.demo import tabletop

NO_NUMPY = "raise ModuleNotFoundError(\"No module named 'numpy'\", name='numpy')\n"


def test_without_numpy_the_panel_says_what_to_install(blender_factory, tmp_path, artifacts):
    masked = tmp_path / "no-numpy"
    (masked / "numpy").mkdir(parents=True)
    (masked / "numpy" / "__init__.py").write_text(NO_NUMPY)
    b = blender_factory(args=["--python-use-system-env"], env={"PYTHONPATH": str(masked)})
    assert "VIGA needs numpy" in wait_for(
        lambda: b.log() if "VIGA needs numpy" in b.log() else None, 30, "the enable-time note"
    )
    b.key("Escape")  # the note also pops up at enable time; the artist closes it
    b.open_tab("VIGA")
    texts = wait_for(lambda: b.eval("drawn('VIGA_PT_needs')"), 20, "the panel")
    texts = texts["VIGA_PT_needs"]["texts"]
    assert "Missing: numpy" in texts, texts
    assert "sudo apt install python3-numpy" in texts, texts
    b.screenshot(artifacts / "needs-numpy.png")
    b.click(op="bpy.ops.viga.copy_install_command(")
    wait_for(
        lambda: b.eval("bpy.context.window_manager.clipboard") == "sudo apt install python3-numpy",
        10,
        "the command on the clipboard",
    )


def test_a_claude_run_from_the_window_reaches_the_server(blender_factory, tmp_path, artifacts):
    seen = []
    with fake_server() as server:
        server.respond_with(script_responder(demo_script(), seen=seen))
        b = blender_factory(
            args=["--online-mode"],
            env={"ANTHROPIC_API_KEY": "sk-ant-test-not-a-key", "ANTHROPIC_BASE_URL": server.url},
        )
        set_prefs(b, default_provider="anthropic", **TINY_PREFS)
        b.open_tab("VIGA")
        b.click(path="viga.photo_path")  # a click on a text field starts editing it
        b.key("ctrl+a")
        b.type_text(str(tabletop.PHOTO))
        b.key("Return")
        wait_for(
            lambda: b.eval("bpy.context.scene.viga.photo_path") == str(tabletop.PHOTO),
            20,
            "the photo path typed in",
        )
        b.click(op="bpy.ops.viga.run(")
        state = b.wait_status("done", "failed", "paused", "cancelled", timeout=600)
        b.screenshot(artifacts / "claude-done.png")
        assert state["status"] == "done", (state["message"], state["error_type"])
    first = server.requests[0]
    assert first["path"] == "/v1/messages"
    assert "sk-ant-test-not-a-key" in (
        first["headers"].get("x-api-key", "") + first["headers"].get("authorization", "")
    ), first["headers"]
    assert ("init", "selector", 1) in seen and ("camera", "verifier", 1) in seen
