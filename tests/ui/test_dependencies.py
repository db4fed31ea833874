"""What the add-on needs from Blender's Python and what it tells the artist when it is missing
(a distribution's Blender runs the system Python: no numpy unless installed)."""

from __future__ import annotations

import sys

import pytest

from viga_addon.agent import dependencies

DEBIAN = {"ID": "debian", "VERSION_ID": "13"}
UBUNTU = {"ID": "ubuntu", "ID_LIKE": "debian"}
FEDORA = {"ID": "fedora"}
ARCH = {"ID": "arch"}


@pytest.mark.smoke
def test_nothing_is_missing_here():
    assert dependencies.missing() == []


def test_a_module_that_cannot_be_imported_is_missing():
    (found,) = dependencies.missing(("viga_no_such_module",))
    assert found.module == "viga_no_such_module" and "ModuleNotFoundError" in found.error


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="distribution hints are Linux")
@pytest.mark.parametrize(
    ("release", "command"),
    [
        (DEBIAN, "sudo apt install python3-numpy"),
        (UBUNTU, "sudo apt install python3-numpy"),
        (FEDORA, "sudo dnf install python3-numpy"),
        (ARCH, "sudo pacman -S python-numpy"),
    ],
)
def test_a_distributions_blender_gets_its_package_managers_command(release, command):
    assert dependencies.install_hint("numpy", release, prefix="/usr") == command


def test_an_official_blender_gets_pip_for_its_own_python():
    hint = dependencies.install_hint("numpy", DEBIAN, prefix="/opt/blender/4.3/python")
    assert hint == f'"{sys.executable}" -m pip install numpy'
    assert dependencies.install_hint("PIL", {}, prefix="/opt/b").endswith("pip install pillow")


def test_the_message_names_the_module_the_python_and_the_command():
    message = dependencies.missing_message([dependencies.Missing("numpy", "gone")])
    assert "numpy" in message and sys.executable in message and "restart Blender" in message
    assert dependencies.install_hint("numpy") in message


def test_an_import_error_names_the_module_really_missing():
    try:
        import viga_missing_for_test  # noqa: F401
    except ImportError as exc:
        text = dependencies.import_problem("anthropic", exc)
    assert "viga_missing_for_test" in text and "anthropic" in text and "lacks" in text
    own = ModuleNotFoundError("No module named 'anthropic'", name="anthropic")
    assert "is not installed" in dependencies.import_problem("anthropic", own)
