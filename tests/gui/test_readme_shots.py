"""The README's pictures of the panel before, during and after the offline demo, taken in the
real window (each state also passes the fits-the-width check of ``Shots``), and the
side-by-side view followed round by round: each new attempt render is shown as it is written.

``VIGA_README_SHOTS=1 ./dev gui -k readme`` writes docs/panel-{before,during,after}.png (64
colours, a few tens of KB each); without it they go to the test's artifact folder only.
"""

from __future__ import annotations

import os
from pathlib import Path

from flows import Shots, fresh, ready_demo, start_run
from scripts import demo_script
from userhome import REPO

LATEST = "str(addon_module('ui.live').any_live_run().session.progress().latest_render or '')"
PREVIEWS = "list(addon_module('ui.panels.look')._previews.keys())"


def small_png(source: Path, target: Path) -> None:
    from PIL import Image

    target.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(source) as image:
        image.convert("RGB").quantize(64).save(target, optimize=True)


def test_readme_screenshots_and_the_render_beside_the_photo(blender, tmp_path, artifacts):
    b, shot = blender, Shots(blender, artifacts)
    b.open_tab("VIGA")
    before = shot("before")
    ready_demo(b, tmp_path, demo_script(think=1.0))
    start_run(b)
    renders: list[str] = []
    during = None
    while True:
        state = b.live()
        if state["finished"] or state["status"] != "running":
            break
        latest = b.eval(LATEST)
        if latest and latest not in renders:
            renders.append(latest)
            fresh(b)  # the panel has drawn with this render: its thumbnail is loaded
            assert any(key.startswith(f"{latest}:") for key in b.eval(PREVIEWS)), latest
            if during is None and state["stage"] == "material":
                during = shot("during")
    state = b.wait_status("done", timeout=600)
    after = shot("after")
    # a new render beside the photo for each round seen (init's rollouts, then every stage's)
    assert len(renders) >= 6, renders
    assert during is not None, renders
    out = REPO / "docs" if os.environ.get("VIGA_README_SHOTS") else artifacts / "docs"
    for name, path in (("before", before), ("during", during), ("after", after)):
        small_png(path, out / f"panel-{name}.png")
