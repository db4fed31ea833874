"""Run the test suite inside a real Blender (or with the bpy module: both work).

    blender -b --factory-startup --python tests/run_in_blender.py -- [pytest args]
    blender -b --factory-startup --python tests/run_in_blender.py -- -m smoke -q
    .venv/bin/python tests/run_in_blender.py [pytest args]        # Python with the bpy module

Puts the repository root on sys.path and makes it the working directory (so pyproject.toml's
pytest settings apply and test paths are relative to the repo), runs ``pytest.main(args)`` and
exits with pytest's exit code. Blender's bundled Python has no pytest; the message below says how
to install it there.
"""

from __future__ import annotations

import importlib.util
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Imported by the tests or needed to run them; only pytest is strictly required to start.
TEST_REQUIREMENTS = {
    "pytest": "pytest",
    "hypothesis": "hypothesis",
    "anthropic": "anthropic",
    "openai": "openai",
    "PIL": "pillow",
}


def pytest_args(argv: list[str]) -> list[str]:
    """Arguments meant for pytest: everything after ``--``, or after the script when run by Python."""
    if "--" in argv:
        return argv[argv.index("--") + 1 :]
    if "--python" in argv or "-P" in argv:  # started by the blender binary without `--`
        return []
    return argv[1:]


def missing_requirements() -> list[str]:
    return [
        dist
        for module, dist in TEST_REQUIREMENTS.items()
        if importlib.util.find_spec(module) is None
    ]


def install_hint(missing: list[str]) -> str:
    python = sys.executable or "<blender python>"
    packages = " ".join(missing)
    return (
        f"Install them into the Python that runs Blender ({python}):\n"
        f'    "{python}" -m ensurepip --upgrade\n'
        f'    "{python}" -m pip install {packages}\n'
        "or from Blender itself:\n"
        '    blender -b --python-expr "import ensurepip, subprocess, sys; ensurepip.bootstrap(); '
        f"subprocess.check_call([sys.executable, '-m', 'pip', 'install', {', '.join(repr(p) for p in missing)}])\"\n"
        "(on Linux/macOS Blender's folder may need write access, or add --user / --target)."
    )


def main(argv: list[str]) -> int:
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    os.chdir(ROOT)

    missing = missing_requirements()
    if "pytest" in missing:
        print(
            "run_in_blender.py: pytest is not importable in this Python.\n" + install_hint(missing),
            file=sys.stderr,
        )
        return 2
    if missing:
        print(
            f"run_in_blender.py: warning: {', '.join(missing)} missing; tests that need them will "
            "fail or be skipped.\n" + install_hint(missing),
            file=sys.stderr,
        )

    import pytest

    return int(pytest.main(pytest_args(argv)))


if __name__ == "__main__":
    code = main(sys.argv)
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(code)
