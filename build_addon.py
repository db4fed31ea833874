"""Build the viga_addon Blender extension: one .zip per platform with the model SDKs bundled.

Run with any Python that has the ``bpy`` module installed (Blender's own extension tool ships
inside the bpy wheel and is used to build and validate the packages)::

    .venv/bin/python build_addon.py                      # all four platforms -> dist/
    .venv/bin/python build_addon.py --platforms linux-x64 --out dist

Steps: stage ``build/stage/`` (the package, the manifest and ``wheels/``), download binary wheels
for every platform and for Python 3.11 (Blender 4.2-5.0) and 3.13 (Blender 5.1+) into
``build/wheels-cache/`` (reused across runs), write the wheel list and platforms into the staged
manifest, then ``blender_ext.py build --split-platforms`` and ``blender_ext.py validate`` per zip.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parent
PACKAGE_DIR = ROOT / "viga_addon"
MANIFEST = ROOT / "blender_manifest.toml"
PYPROJECT = ROOT / "pyproject.toml"
BUILD_DIR = ROOT / "build"
STAGE_DIR = BUILD_DIR / "stage"
WHEEL_CACHE = BUILD_DIR / "wheels-cache"

# Blender platform -> wheel platform tags for pip (pip also accepts older macOS/glibc versions of
# these). What PyPI had for the compiled dependencies when this was written: Linux pydantic_core /
# jiter manylinux2014 (= 2_17), pillow manylinux_2_27/2_28; macOS x64 pydantic_core / jiter
# 10_12, pillow 10_10 (cp311) / 10_13 (cp313); macOS arm64 11_0; Windows win_amd64.
PLATFORM_TAGS: dict[str, tuple[str, ...]] = {
    "windows-x64": ("win_amd64",),
    "macos-arm64": ("macosx_11_0_arm64",),
    "macos-x64": ("macosx_10_13_x86_64", "macosx_10_12_x86_64", "macosx_10_9_x86_64"),
    "linux-x64": ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"),
}
# Blender 4.2 LTS - 5.0 embed Python 3.11; Blender 5.1+ (5.2 LTS) embed Python 3.13.
PYTHON_VERSIONS = ("3.11", "3.13")

# What is never bundled: numpy, because an official Blender ships its own (compiled against
# its Python, imported by Blender itself) and a second copy beside it is not safe. A
# distribution's Blender (Debian, Ubuntu, Fedora, Arch) runs the system Python, which may lack
# it: the add-on then says what to install (agent/dependencies.py). Everything else the add-on
# and the SDKs import is bundled, the pure-Python packages official builds also ship (idna,
# certifi, urllib3, charset-normalizer) included: distribution builds lack them, and an official
# build's own copies come first on sys.path anyway.
NOT_BUNDLED = frozenset({"numpy"})


class BuildError(RuntimeError):
    """A build step failed; the message says which and what to do."""


def canonical_name(name: str) -> str:
    """PEP 503 normalised distribution name (``Charset_Normalizer`` -> ``charset-normalizer``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_distribution(filename: str) -> str:
    """Canonical distribution name from a wheel file name."""
    return canonical_name(filename.split("-", 1)[0])


def bundled_requirements(pyproject: Path = PYPROJECT) -> list[str]:
    """The project's runtime requirements minus what is never bundled (``NOT_BUNDLED``)."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    requirements = []
    for spec in project["dependencies"]:
        name = re.match(r"[A-Za-z0-9_.\-]+", spec).group(0)
        if canonical_name(name) not in NOT_BUNDLED:
            requirements.append(spec)
    return requirements


def project_version(pyproject: Path = PYPROJECT) -> str:
    return tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"]


def blender_ext_script() -> Path:
    """Path of ``blender_ext.py`` inside the installed bpy wheel (without importing bpy)."""
    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        raise BuildError(
            "the bpy module is not installed for this Python; run build_addon.py with a Python "
            "that has it, e.g. `.venv/bin/python build_addon.py` after `./dev test`"
        )
    for location in spec.submodule_search_locations:
        found = sorted(Path(location).glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
        if found:
            return found[-1]
    raise BuildError(
        "blender_ext.py not found in the bpy package (expected scripts/addons_core/bl_pkg/cli/)"
    )


def download_wheels(
    platform: str, python_version: str, requirements: list[str], cache: Path = WHEEL_CACHE
) -> list[Path]:
    """Binary wheels of ``requirements`` and their dependencies for one platform and Python.

    pip resolves the full dependency set for the target platform (a dry-run install with
    ``--report``), what is never bundled (numpy) is dropped, and the rest is fetched with
    ``pip download --no-deps`` pinned to the resolved versions. The resolved list is remembered
    in the cache folder, so a rebuild with the same requirements needs no network.
    """
    target = cache / f"{platform}-cp{python_version.replace('.', '')}"
    listing = target / "resolved.txt"
    key = "# " + " ".join(requirements) + " -" + " -".join(sorted(NOT_BUNDLED))
    if listing.is_file():
        lines = listing.read_text(encoding="utf-8").splitlines()
        files = [target / name for name in lines[1:]]
        if lines and lines[0] == key and all(f.is_file() for f in files):
            return files

    target.mkdir(parents=True, exist_ok=True)
    tag_args = ["--only-binary=:all:", "--implementation", "cp", "--python-version", python_version]
    for tag in PLATFORM_TAGS[platform]:
        tag_args += ["--platform", tag]
    report = target / "report.json"
    _pip(
        [
            "install",
            "--dry-run",
            "--ignore-installed",
            "--target",
            str(target / "dry-run"),
            "--report",
            str(report),
            *tag_args,
            *requirements,
        ],
        platform,
        python_version,
    )
    resolved = json.loads(report.read_text(encoding="utf-8"))["install"]
    wanted = {}
    for item in resolved:
        name = canonical_name(item["metadata"]["name"])
        if name not in NOT_BUNDLED:
            filename = unquote(item["download_info"]["url"].rsplit("/", 1)[-1])
            wanted[filename] = f"{name}=={item['metadata']['version']}"
    missing = [pin for filename, pin in wanted.items() if not (target / filename).is_file()]
    if missing:
        _pip(
            ["download", "--no-deps", "--dest", str(target), *tag_args, *missing],
            platform,
            python_version,
        )
    files = [target / filename for filename in sorted(wanted)]
    absent = [f.name for f in files if not f.is_file()]
    if absent:
        raise BuildError(f"pip did not download {absent} for {platform} / Python {python_version}")
    listing.write_text("\n".join([key, *(f.name for f in files)]) + "\n", encoding="utf-8")
    return files


def _pip(args: list[str], platform: str, python_version: str) -> None:
    command = [
        sys.executable,
        "-m",
        "pip",
        *args[:1],
        "--disable-pip-version-check",
        "--quiet",
        *args[1:],
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        errors = "\n".join(line for line in result.stderr.splitlines() if "is ignored" not in line)
        raise BuildError(
            f"pip {args[0]} of wheels for {platform} / Python {python_version} failed "
            f"(exit {result.returncode}). Is the package index reachable, and does it have binary "
            f"wheels for the tags {', '.join(PLATFORM_TAGS[platform])}?\n{errors.strip()[-2000:]}"
        )


def stage(platforms: list[str], wheels: list[Path], stage_dir: Path = STAGE_DIR) -> Path:
    """Fill ``stage_dir`` with the package, ``wheels/`` and a manifest that lists them."""
    if stage_dir.exists():
        shutil.rmtree(stage_dir)
    shutil.copytree(
        PACKAGE_DIR,
        stage_dir,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "tests", ".*", "*.blend1"),
    )
    wheel_dir = stage_dir / "wheels"
    wheel_dir.mkdir()
    names = []
    for wheel in wheels:
        if wheel.name not in names:  # py3-none-any wheels are shared by all platforms/Pythons
            shutil.copy2(wheel, wheel_dir / wheel.name)
            names.append(wheel.name)
    (stage_dir / MANIFEST.name).write_text(
        manifest_text(MANIFEST.read_text(encoding="utf-8"), platforms, sorted(names)),
        encoding="utf-8",
    )
    return stage_dir


def manifest_text(source: str, platforms: list[str], wheel_names: list[str]) -> str:
    """The checked-in manifest with ``platforms`` replaced and ``wheels`` set.

    Top-level keys must come before the first ``[table]``, so they are inserted there.
    """
    lines = [
        line for line in source.splitlines() if not re.match(r"\s*(platforms|wheels)\s*=", line)
    ]
    first_table = next((i for i, line in enumerate(lines) if line.startswith("[")), len(lines))
    generated = [
        "# Written by build_addon.py",
        "platforms = [" + ", ".join(f'"{p}"' for p in platforms) + "]",
    ]
    if wheel_names:
        generated += ["wheels = ["] + [f'  "./wheels/{name}",' for name in wheel_names] + ["]"]
    text = "\n".join(lines[:first_table] + generated + [""] + lines[first_table:]) + "\n"
    parsed = tomllib.loads(text)  # fail here, not in Blender, if the splice broke the TOML
    assert parsed["platforms"] == platforms
    return text


def blender_ext(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(blender_ext_script()), *args], capture_output=True, text=True
    )


def build(platforms: list[str], out_dir: Path, with_wheels: bool = True) -> list[Path]:
    """Build and validate one zip per platform; returns the zip paths."""
    unknown = sorted(set(platforms) - set(PLATFORM_TAGS))
    if unknown:
        raise BuildError(f"unknown platform(s) {unknown}; choose from {sorted(PLATFORM_TAGS)}")
    wheels: list[Path] = []
    if with_wheels:
        requirements = bundled_requirements()
        for platform in platforms:
            for python_version in PYTHON_VERSIONS:
                wheels += download_wheels(platform, python_version, requirements)
    stage_dir = stage(platforms, wheels)

    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = tomllib.loads((stage_dir / MANIFEST.name).read_text(encoding="utf-8"))
    expected = [
        out_dir / f"{manifest['id']}-{manifest['version']}-{p.replace('-', '_')}.zip"
        for p in platforms
    ]
    for path in expected:
        path.unlink(missing_ok=True)
    result = blender_ext(
        "build", "--source-dir", str(stage_dir), "--output-dir", str(out_dir), "--split-platforms"
    )
    if result.returncode != 0:
        raise BuildError(f"blender_ext build failed:\n{result.stdout}{result.stderr}")
    for path in expected:
        if not path.is_file():
            raise BuildError(f"blender_ext build did not write {path}:\n{result.stdout}")
        check = blender_ext("validate", str(path))
        if check.returncode != 0:
            raise BuildError(f"validation of {path.name} failed:\n{check.stdout}{check.stderr}")
    return expected


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--platforms",
        default=",".join(PLATFORM_TAGS),
        help="comma-separated Blender platforms (default: all four)",
    )
    parser.add_argument("--out", default=str(ROOT / "dist"), help="output folder for the zips")
    args = parser.parse_args(argv)
    platforms = [p.strip() for p in args.platforms.split(",") if p.strip()]
    try:
        zips = build(platforms, Path(args.out))
    except BuildError as error:
        print(f"build_addon.py: error: {error}", file=sys.stderr)
        return 1
    for path in zips:
        print(f"{path}  {path.stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
