"""Entry point of the model worker process: ``python worker_boot.py`` (see worker.py).

Loads the folder holding this file as a standalone package named ``viga_agent`` by file path,
so the child never needs the add-on's package (``viga_addon`` or ``bl_ext.<repo>.viga_addon``)
nor bpy, then serves requests. Must stay importable by any Python 3.11+.
"""

import importlib
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# Running a script puts its folder first on sys.path; the agent's modules are not top-level.
if sys.path and os.path.abspath(sys.path[0] or os.curdir) == HERE:
    sys.path.pop(0)

spec = importlib.util.spec_from_file_location(
    "viga_agent", os.path.join(HERE, "__init__.py"), submodule_search_locations=[HERE]
)
package = importlib.util.module_from_spec(spec)
sys.modules["viga_agent"] = package
spec.loader.exec_module(package)
importlib.import_module("viga_agent.worker").child_main()
