"""``python -m viga_addon …`` with the bpy module, or ``blender -b --python
viga_addon/__main__.py -- …`` with a real Blender (run by path: the package is put on sys.path).

Every way out ends with the CLI's own exit code: Blender leaves an exception in a ``--python``
script at exit code 0, so an uncaught one is printed here and ends the process with 1.
"""

import sys
import traceback

if not __package__:  # run as a script by Blender's --python
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    __package__ = "viga_addon"  # noqa: A001


def _main() -> int:
    try:
        from viga_addon.cli import main

        return main()
    except KeyboardInterrupt:
        return 130
    except Exception:
        traceback.print_exc()
        return 1


sys.exit(_main())
