"""The extension package: build the linux-x64 zip, validate it, install it into bpy, use it.

The install runs in a child process of this Python with ``BLENDER_USER_RESOURCES`` pointing at a
temporary folder, so Blender's extension installer writes there and never into the real user's
config. The venv that runs the tests also has anthropic/openai/pillow installed; to prove the
*bundled* copies are the ones used, the child puts a meta-path hook in front of the import system
that hides every package of the venv's site-packages except what Blender itself ships (numpy,
requests, ...). It first asserts that ``import anthropic`` fails under that hook (so the hook is
real), then installs the zip, and asserts each SDK's ``__file__`` is under the extensions
``.local`` site-packages that Blender extracted the bundled wheels into.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

import build_addon  # repo root is on sys.path (pyproject: pythonpath = ["."])

ROOT = Path(__file__).resolve().parents[1]

PLATFORM = "linux-x64"


def _validator(*args: str, python: str = sys.executable) -> subprocess.CompletedProcess:
    return subprocess.run(
        [python, str(build_addon.blender_ext_script()), *args], capture_output=True, text=True
    )


@pytest.mark.smoke
def test_checked_in_manifest_is_valid_on_its_own(tmp_path):
    """The repo's manifest passes Blender's validator without build_addon.py's additions."""
    (tmp_path / "blender_manifest.toml").write_bytes((ROOT / "blender_manifest.toml").read_bytes())
    (tmp_path / "__init__.py").write_text("")
    result = _validator("validate", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = tomllib.loads((ROOT / "blender_manifest.toml").read_text(encoding="utf-8"))
    assert manifest["version"] == build_addon.project_version()
    assert manifest["id"] == "viga_addon"
    assert len(manifest["tagline"]) <= 64
    assert set(manifest["permissions"]) == {"network", "files"}
    assert "wheels" not in manifest


@pytest.fixture(scope="module")
def linux_zip(tmp_path_factory) -> Path:
    """The linux-x64 zip built by the build_addon.py CLI (wheel cache in build/ is reused)."""
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, str(ROOT / "build_addon.py"), "--platforms", PLATFORM, "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    zips = sorted(out.glob("*.zip"))
    assert [z.name for z in zips] == ["viga_addon-0.1.0-linux_x64.zip"]
    assert str(zips[0]) in result.stdout  # the CLI reports the path (and size)
    return zips[0]


@pytest.mark.slow
def test_zip_validates_and_holds_the_right_files(linux_zip):
    result = _validator("validate", str(linux_zip))
    assert result.returncode == 0, result.stdout + result.stderr

    with zipfile.ZipFile(linux_zip) as archive:
        names = archive.namelist()
        manifest = tomllib.loads(archive.read("blender_manifest.toml").decode("utf-8"))
    assert manifest["platforms"] == [PLATFORM]
    assert not [
        n for n in names if "__pycache__" in n or n.endswith(".pyc") or n.startswith("tests/")
    ]

    sources = {
        p.relative_to(ROOT / "viga_addon").as_posix()
        for p in (ROOT / "viga_addon").rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert sources <= set(names), sorted(sources - set(names))

    wheels = [Path(w).name for w in manifest["wheels"]]
    assert sorted(f"wheels/{w}" for w in wheels) == sorted(n for n in names if n.endswith(".whl"))
    dists = {build_addon.wheel_distribution(w) for w in wheels}
    assert {"anthropic", "openai", "pillow", "pydantic-core", "jiter"} <= dists
    assert not dists & build_addon.NOT_BUNDLED, "bundled numpy beside Blender's own"
    # what a distribution's Blender (system Python) lacks and the SDKs import
    assert "idna" in dists
    for wheel in wheels:
        platform_tag = wheel[:-4].split("-")[-1]
        assert platform_tag == "any" or "linux" in platform_tag, wheel
    for dist in ("pillow", "pydantic-core", "jiter"):  # compiled: one wheel per Blender Python
        tags = {w.split("-")[2] for w in wheels if build_addon.wheel_distribution(w) == dist}
        assert tags == {"cp311", "cp313"}, (dist, tags)


_CHILD = r'''
import importlib, importlib.abc, importlib.machinery, json, os, sys, sysconfig
from pathlib import Path

zip_path, = sys.argv[1:]
import bpy

VENV_SITE = Path(sysconfig.get_paths()["purelib"]).resolve()  # where pip put bpy and the SDKs
# What Blender's own Python ships (5.2 superset); everything else must come from the extension.
BLENDER_HAS = {"numpy", "requests", "certifi", "idna", "urllib3", "charset_normalizer",
               "zstandard", "cython", "Cython", "pyximport", "cattrs", "attr", "attrs",
               "typing_extensions", "autopep8", "pycodestyle"}


class HideVenvSitePackages(importlib.abc.MetaPathFinder):
    """Top-level imports skip the venv's site-packages unless Blender itself ships the package."""

    def find_spec(self, name, path, target=None):
        if path is not None or name in sys.modules:
            return None
        paths = [p for p in sys.path if Path(p or ".").resolve() != VENV_SITE]
        spec = importlib.machinery.PathFinder.find_spec(name, paths)
        if spec is not None or name in BLENDER_HAS:
            return spec
        if importlib.machinery.PathFinder.find_spec(name, [str(VENV_SITE)]) is not None:
            raise ModuleNotFoundError(f"{name} is hidden: only the venv has it", name=name)
        return None


sys.meta_path.insert(0, HideVenvSitePackages())
out = {"hidden_before_install": []}
for name in ("anthropic", "openai", "PIL"):
    try:
        importlib.import_module(name)
    except ModuleNotFoundError:
        out["hidden_before_install"].append(name)

out["online_access"] = bpy.app.online_access
out["install"] = sorted(bpy.ops.extensions.package_install_files(
    filepath=zip_path, repo="user_default", enable_on_install=True))
package = "bl_ext.user_default.viga_addon"
out["enabled"] = package in bpy.context.preferences.addons
addon = sys.modules[package]
out["addon_file"] = addon.__file__
classes = []
for module in ("ui.preferences", "ui.properties", "ui.operators", "ui.panels"):
    classes += list(getattr(importlib.import_module(f"{package}.{module}"), "CLASSES", ()))
out["classes"] = {cls.__name__: bool(getattr(cls, "is_registered", False)) for cls in classes}
out["operators"] = sorted(dir(bpy.ops.viga))
out["panels"] = sorted(n for n in dir(bpy.types) if n.startswith("VIGA_PT_"))

extensions = Path(bpy.utils.user_resource("EXTENSIONS"))
local_site = extensions / ".local" / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
out["extensions_dir"] = str(extensions)
out["local_site"] = str(local_site)
out["local_dists"] = sorted(p.name.split("-")[0] for p in local_site.glob("*.dist-info"))
files = {}
for name in ("anthropic", "openai", "PIL", "PIL.Image", "pydantic", "pydantic_core", "jiter", "httpx2"):
    files[name] = importlib.import_module(name).__file__
out["files"] = files
out["idna"] = importlib.import_module("idna").__file__  # bundled, but Blender's own comes first
out["numpy"] = importlib.import_module("numpy").__file__  # never bundled

# The compiled bits really work from the bundled wheels.
from PIL import Image
import jiter, anthropic, openai
out["pil_size"] = list(Image.new("RGB", (3, 2)).size)
out["jiter"] = jiter.from_json(b'{"a": [1, 2]}')
client = anthropic.Anthropic(api_key="test", base_url="http://127.0.0.1:9")
out["anthropic_client"] = type(client).__name__
out["openai_client"] = type(openai.OpenAI(api_key="test", base_url="http://127.0.0.1:9/v1")).__name__
print("RESULT " + json.dumps(out))
'''


@pytest.mark.slow
def test_installs_into_blender_and_uses_bundled_sdks(linux_zip, tmp_path):
    user = tmp_path / "blender-user"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLENDER_USER_")}
    env["BLENDER_USER_RESOURCES"] = str(user)
    env["PYTHONNOUSERSITE"] = "1"
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(linux_zip)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert result.returncode == 0 and lines, result.stdout[-3000:] + result.stderr[-3000:]
    out = json.loads(lines[-1][len("RESULT ") :])

    # The hook really hides the venv's copies, so what imports later came from the extension.
    assert out["hidden_before_install"] == ["anthropic", "openai", "PIL"]
    assert out["online_access"] is False  # installing from a file needs no online access
    assert out["install"] == ["FINISHED"]
    assert out["enabled"]

    extensions = Path(out["extensions_dir"])
    assert extensions.is_relative_to(user), "the test must not touch the real Blender config"
    assert Path(out["addon_file"]).is_relative_to(extensions / "user_default" / "viga_addon")

    assert out["classes"] and all(out["classes"].values()), out["classes"]
    assert "open_runs_root" in out["operators"]
    assert "VIGA_PT_main" in out["panels"]

    local_site = Path(out["local_site"])
    for name, file in out["files"].items():
        assert Path(file).is_relative_to(local_site), f"{name} imported from {file}"
    # an official build's own copies of what is bundled come first on sys.path
    assert not Path(out["idna"]).is_relative_to(local_site)
    assert not Path(out["numpy"]).is_relative_to(local_site)
    assert out["pil_size"] == [3, 2]
    assert out["jiter"] == {"a": [1, 2]}
    assert out["anthropic_client"] == "Anthropic" and out["openai_client"] == "OpenAI"

    dists = {build_addon.canonical_name(d) for d in out["local_dists"]}
    assert not dists & build_addon.NOT_BUNDLED, f"extension bundled numpy: {dists}"
    assert "idna" in dists  # for a distribution's Blender, whose Python lacks it


def test_download_failure_is_a_clear_error(tmp_path, monkeypatch):
    """With no reachable index pip fails; the build stops with a message naming the platform."""
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    with pytest.raises(build_addon.BuildError) as caught:
        build_addon.download_wheels(
            "windows-x64", "3.11", ["anthropic>=0.40"], cache=tmp_path / "cache"
        )
    message = str(caught.value)
    assert "windows-x64" in message and "3.11" in message and "win_amd64" in message


def test_build_cli_exits_nonzero_on_unknown_platform(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "build_addon.py"),
            "--platforms",
            "amiga-m68k",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode != 0
    assert "amiga-m68k" in result.stderr and "linux-x64" in result.stderr


def test_bundled_requirements_drop_only_numpy():
    requirements = build_addon.bundled_requirements()
    names = {
        build_addon.canonical_name(r.split(">")[0].split("=")[0].split("<")[0])
        for r in requirements
    }
    assert {"anthropic", "openai", "pillow"} <= names
    assert not names & build_addon.NOT_BUNDLED


@pytest.mark.smoke
def test_run_in_blender_takes_args_after_double_dash():
    from tests import run_in_blender

    blender_argv = [
        "/opt/blender/blender",
        "-b",
        "--factory-startup",
        "--python",
        "tests/run_in_blender.py",
        "--",
        "-m",
        "smoke",
        "-q",
    ]
    assert run_in_blender.pytest_args(blender_argv) == ["-m", "smoke", "-q"]
    assert run_in_blender.pytest_args(blender_argv[:5]) == []
    assert run_in_blender.pytest_args(["tests/run_in_blender.py", "-x", "tests/a.py"]) == [
        "-x",
        "tests/a.py",
    ]


def test_run_in_blender_exits_with_pytest_code(tmp_path):
    """The runner under a Python with bpy: pytest's exit code is the process exit code."""
    runner = str(ROOT / "tests" / "run_in_blender.py")
    selected = "tests/test_layering.py::test_checker_sees_every_import_form"
    ok = subprocess.run(
        [sys.executable, runner, "--", selected, "-q", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert ok.returncode == 0, ok.stdout[-2000:] + ok.stderr[-2000:]
    assert "1 passed" in ok.stdout
    none = subprocess.run(
        [sys.executable, runner, selected, "-q", "-k", "no_such_test", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert none.returncode == 5, none.stdout[-2000:]
