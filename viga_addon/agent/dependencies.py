"""What the add-on needs from the Python that runs it, and what to tell the artist when a piece
is missing.

Pillow, the model SDKs and the pure-Python packages they import (idna, certifi, …) ship in the
extension's wheels. numpy cannot ship beside the numpy an official Blender bundles, so a
distribution's Blender (Debian, Ubuntu, Fedora, Arch: it runs the system Python) may lack it:
then the add-on registers only a panel that says exactly what to install (``missing``,
``install_hint``). An import that fails later names the module that is missing
(``import_problem``).
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

#: modules the add-on imports to register at all (the rest ships in its wheels)
REQUIRED = ("numpy",)

# the distribution package that holds a Python module, per package manager
_DISTRO_PACKAGES = {
    "apt": {"numpy": "python3-numpy", "PIL": "python3-pil"},
    "dnf": {"numpy": "python3-numpy", "PIL": "python3-pillow"},
    "pacman": {"numpy": "python-numpy", "PIL": "python-pillow"},
    "zypper": {"numpy": "python3-numpy", "PIL": "python3-Pillow"},
}
_INSTALL = {
    "apt": "sudo apt install {}",
    "dnf": "sudo dnf install {}",
    "pacman": "sudo pacman -S {}",
    "zypper": "sudo zypper install {}",
}
_PIP_NAMES = {"PIL": "pillow"}


@dataclass(frozen=True)
class Missing:
    module: str
    error: str  # the import's own message


def missing(modules: tuple[str, ...] = REQUIRED) -> list[Missing]:
    """The ``modules`` this Python cannot import (an import that fails counts as missing)."""
    out = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - a broken install is as good as none
            out.append(Missing(name, f"{type(exc).__name__}: {exc}"))
    return out


def _os_release() -> dict[str, str]:
    try:
        text = Path("/etc/os-release").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    values = {}
    for line in text.splitlines():
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip('"')
    return values


def package_manager(os_release: dict[str, str] | None = None) -> str | None:
    """The Linux distribution's package manager (None elsewhere, or when unknown)."""
    if not sys.platform.startswith("linux"):
        return None
    info = _os_release() if os_release is None else os_release
    ids = {info.get("ID", "")} | set(info.get("ID_LIKE", "").split())
    for manager, family in (
        ("apt", {"debian", "ubuntu"}),
        ("dnf", {"fedora", "rhel", "centos"}),
        ("pacman", {"arch"}),
        ("zypper", {"suse", "opensuse", "opensuse-leap", "opensuse-tumbleweed"}),
    ):
        if ids & family:
            return manager
    return None


def system_python(prefix: str | None = None) -> bool:
    """True when this is the operating system's Python (a distribution's Blender), not the one
    an official Blender bundles in its own folder."""
    prefix = os.path.realpath(prefix or sys.base_prefix)
    return prefix in ("/usr", "/usr/local") and sys.platform.startswith("linux")


def install_hint(
    module: str, os_release: dict[str, str] | None = None, prefix: str | None = None
) -> str:
    """The one command that installs ``module`` for this Blender's Python."""
    manager = package_manager(os_release) if system_python(prefix) else None
    package = _DISTRO_PACKAGES.get(manager or "", {}).get(module)
    if manager and package:
        return _INSTALL[manager].format(package)
    pip_name = _PIP_NAMES.get(module, module)
    return f'"{sys.executable}" -m pip install {pip_name}'


def missing_message(lacking: list[Missing]) -> str:
    """What the artist reads when the add-on cannot start (panel, preferences, console)."""
    names = ", ".join(m.module for m in lacking)
    commands = "; ".join(install_hint(m.module) for m in lacking)
    return (
        f"VIGA needs {names}, which this Blender's Python ({sys.executable}) lacks. "
        f"Install it with: {commands} — then restart Blender."
    )


def import_problem(package: str, exc: ImportError) -> str:
    """A failed import of ``package`` in words that name the module really missing."""
    absent = getattr(exc, "name", None) or ""
    if not absent or absent.split(".")[0] == package:
        return f"The {package} package is not installed ({exc}). Reinstall the VIGA extension."
    root = absent.split(".")[0]
    return (
        f"The {package} package cannot be imported: it needs the module {root!r}, which "
        f"this Python ({sys.executable}) lacks. Install it with: {install_hint(root)}"
    )
