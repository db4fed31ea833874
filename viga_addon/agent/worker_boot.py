"""Entry point of the model worker process: ``python worker_boot.py`` (see worker.py).

Loads the add-on's folder (the parent of this ``agent`` folder) as a standalone package named
``viga_worker_pkg`` by file path, so the child never needs the add-on's own package name
(``viga_addon`` or ``bl_ext.<repo>.viga_addon``) nor bpy, then serves requests. The add-on's
``__init__`` imports nothing at load (its UI modules load in ``register``), and ``agent`` reaches
only ``common`` besides itself. Must stay importable by any Python 3.11+.
"""

import importlib
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# Running a script puts its folder first on sys.path; the agent's modules are not top-level.
if sys.path and os.path.abspath(sys.path[0] or os.curdir) == HERE:
    sys.path.pop(0)

spec = importlib.util.spec_from_file_location(
    "viga_worker_pkg", os.path.join(ROOT, "__init__.py"), submodule_search_locations=[ROOT]
)
package = importlib.util.module_from_spec(spec)
sys.modules["viga_worker_pkg"] = package
spec.loader.exec_module(package)
importlib.import_module("viga_worker_pkg.agent.worker").child_main()
