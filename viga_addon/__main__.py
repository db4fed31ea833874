"""``python -m viga_addon …`` with the bpy module, or ``blender -b --python
viga_addon/__main__.py -- …`` with a real Blender (run by path: the package is put on sys.path)."""

import sys

if not __package__:  # run as a script by Blender's --python
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    __package__ = "viga_addon"  # noqa: A001

from viga_addon.cli import main  # noqa: E402

sys.exit(main())
