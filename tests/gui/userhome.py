"""A user's Blender as the real-window layer (and its benchmark) starts from: the extension zip
build_addon.py makes and another extension with a wheel beside it, both installed and enabled
by Blender's own installer into a user home, with preferences saved (no splash screen)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NEIGHBOUR_ID = "viga_test_neighbour"
NEIGHBOUR_WHEEL = "viga_neighbour_pkg-1.0-py3-none-any.whl"
SETUP_PREFS = """
import bpy
p = bpy.context.preferences
p.view.show_splash = False
bpy.ops.wm.save_userpref()
"""


class SetupError(AssertionError):
    """A set-up step failed; the message has its output."""


def _run(argv, what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, cwd=REPO)
    if done.returncode != 0:
        raise SetupError(f"{what} failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")


def addon_zip(out: Path) -> Path:
    """The linux-x64 zip build_addon.py makes (its wheels cached under build/)."""
    _run(
        [
            sys.executable,
            str(REPO / "build_addon.py"),
            "--platforms",
            "linux-x64",
            "--out",
            str(out),
        ],
        "build_addon.py",
    )
    return next(out.glob("viga_addon-*-linux_x64.zip"))


def _wheel(path: Path) -> Path:
    """A tiny pure-Python wheel the neighbour extension ships (its files must survive us)."""
    dist = "viga_neighbour_pkg-1.0.dist-info"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("viga_neighbour_pkg/__init__.py", "VALUE = 42\n")
        z.writestr(
            f"{dist}/METADATA", "Metadata-Version: 2.1\nName: viga-neighbour-pkg\nVersion: 1.0\n"
        )
        z.writestr(
            f"{dist}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        z.writestr(f"{dist}/RECORD", "")
    return path


def neighbour_zip(folder: Path) -> Path:
    """Another user's extension with a wheel, to be installed beside ours."""
    src = folder / "neighbour"
    (src / "wheels").mkdir(parents=True)
    _wheel(src / "wheels" / NEIGHBOUR_WHEEL)
    (src / "blender_manifest.toml").write_text(
        'schema_version = "1.0.0"\n'
        f'id = "{NEIGHBOUR_ID}"\nversion = "1.0.0"\nname = "VIGA test neighbour"\n'
        'tagline = "Another extension with a wheel"\nmaintainer = "test"\ntype = "add-on"\n'
        'blender_version_min = "4.2.0"\nlicense = ["SPDX:GPL-3.0-or-later"]\n'
        f'wheels = ["./wheels/{NEIGHBOUR_WHEEL}"]\n'
    )
    (src / "__init__.py").write_text(
        "def register():\n    import viga_neighbour_pkg  # noqa: F401\n\n\n"
        "def unregister():\n    pass\n"
    )
    out = folder / "neighbour-dist"
    out.mkdir()
    sys.path.insert(0, str(REPO))
    import build_addon

    _run(
        [
            sys.executable,
            str(build_addon.blender_ext_script()),
            "build",
            "--source-dir",
            str(src),
            "--output-dir",
            str(out),
        ],
        "building the neighbour extension",
    )
    return next(out.glob("*.zip"))


def home_template(box, folder: Path) -> Path:
    """``folder/home-template``: preferences saved and both extensions installed and enabled."""
    home = folder / "home-template"
    home.mkdir(parents=True)
    env = {"HOME": str(home)}
    script = folder / "setup_prefs.py"
    script.write_text(SETUP_PREFS)
    ours, neighbour = addon_zip(folder / "dist"), neighbour_zip(folder)
    install = [box.spec.blender, "--command", "extension", "install-file", "-r", "user_default"]
    for argv in (
        [box.spec.blender, "-b", "--python", str(script)],
        [*install, "-e", str(neighbour)],
        [*install, "-e", str(ours)],
    ):
        done = box.run(argv, env=env, timeout=300)
        if done["rc"] != 0:
            raise SetupError(f"{argv[1:]} failed:\n{done['out'][-2000:]}\n{done['err'][-2000:]}")
    return home


def copy_home(template: Path, target: Path) -> Path:
    shutil.copytree(template, target, symlinks=True)
    return target
