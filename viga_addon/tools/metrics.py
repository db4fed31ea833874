"""Moved to ``viga_addon.agent.metrics`` (pure numpy, no bpy); this alias keeps old imports working.

Only ``batch.py`` still imports it from here; delete this file once that import reads
``from .agent.metrics import learned_metrics_available``.
"""

from ..agent.metrics import *  # noqa: F403
from ..agent.metrics import learned_metrics_available  # noqa: F401
