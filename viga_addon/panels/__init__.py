"""Sidebar panels (3D Viewport › N-panel › VIGA). Each module exports ``CLASSES``."""

from . import main_panel

CLASSES = (*main_panel.CLASSES,)
