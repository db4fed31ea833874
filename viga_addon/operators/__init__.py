"""Operators (``viga.*``). Each module exports ``CLASSES``; this package gathers them."""

from . import run_folder

CLASSES = (*run_folder.CLASSES,)
