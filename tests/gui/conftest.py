"""Fixtures of the real-Blender layer (``./dev gui``): the box, one Xvfb per session, a user
home with our extension and another beside it installed by Blender's own installer
(userhome.py), and a Blender with a window per test.

After each test, any line in Blender's output that looks like a traceback, an error or a
warning (and is not Blender's own known noise, ``window.BLENDER_NOISE``) fails it.
Screenshots go to ``build/gui-artifacts/<test>/``.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))  # the fake model server and its scripted model

import box as boxmod  # noqa: E402
import userhome  # noqa: E402
from userhome import REPO  # noqa: E402
from window import Blender, GuiError, XServer  # noqa: E402

ARTIFACTS = Path(os.environ.get("VIGA_GUI_ARTIFACTS") or REPO / "build" / "gui-artifacts")


def pytest_configure(config):
    config.addinivalue_line("markers", "gui: the real-Blender layer (./dev gui)")


@pytest.fixture(scope="session")
def box():
    try:
        spec = boxmod.find_box(make=False)
    except boxmod.BoxUnavailable as e:
        pytest.skip(f"real-Blender layer skipped: {e}")
    started = boxmod.Box(spec)
    yield started
    started.close()


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("gui")


@pytest.fixture(scope="session")
def xserver(box, session_dir):
    server = XServer(box, session_dir)
    yield server
    server.close()


@pytest.fixture(scope="session")
def home_template(box, session_dir):
    """A user home with preferences saved and both extensions installed (userhome.py)."""
    return userhome.home_template(box, session_dir)


@pytest.fixture
def home(home_template, tmp_path):
    """This test's copy of the user home (preferences and installed extensions)."""
    return userhome.copy_home(home_template, tmp_path / "home")


@pytest.fixture
def artifacts(request):
    folder = ARTIFACTS / request.node.name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def blender_factory(box, xserver, home, tmp_path):
    """start(args=(), env=None) -> a Blender with a window; all are closed after the test and
    their output checked."""
    started: list[Blender] = []

    def start(args=(), env=None, workdir=None):
        folder = workdir or tmp_path / f"blender{len(started)}"
        folder.mkdir(parents=True, exist_ok=True)
        b = Blender(box, xserver, home, folder, args=args, env=env)
        started.append(b)
        return b

    yield start
    problems = []
    for b in started:
        b.close()
        problems += b.suspect_lines()
        if b.find_seconds:
            print(
                f"\nclicks: {len(b.find_seconds)}, finding took {sum(b.find_seconds):.1f} s "
                f"(longest {max(b.find_seconds):.1f} s)"
            )
    if problems:
        raise GuiError("Blender printed errors or warnings:\n" + "\n".join(problems[:40]))


@pytest.fixture
def blender(blender_factory):
    return blender_factory()
