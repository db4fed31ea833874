"""The state one scene.py is written into: its lines, what it skips, references to set at the end.

Every writer module (``nodes``, ``objects``, ``world``) appends to one ``Output``; ``program``
makes it, runs the writers in order and joins the lines under the header.
"""

from __future__ import annotations

import bpy

from .props import Fresh


class Output:
    """The program being written for ``scene``."""

    def __init__(self, scene: bpy.types.Scene) -> None:
        self.scene = scene
        self.lines: list[str] = []
        # what scene.py does not reproduce (listed in its docstring and returned to the caller)
        self.skipped: list[str] = []
        # statements that point one data-block at another, emitted once all blocks exist
        self.deferred: list[str] = []
        self.fresh = Fresh()
        self.written_data: set[tuple[str, str]] = set()  # (type, name) of object data written
        self.images: dict[str, str] = {}  # image name -> the variable scene.py holds it in
        self.scene_collections = scene_collection_names(scene)

    def emit(self, text: str = "") -> None:
        self.lines.append(text)

    def section(self, title: str) -> None:
        self.emit("")
        self.emit("")
        self.emit(f"# {'=' * 95}")
        self.emit(f"# {title}")

    def indent_from(self, start: int) -> None:
        """Indent every line emitted since ``len(self.lines) == start`` by one level."""
        self.lines[start:] = [
            "\n".join("    " + line if line else line for line in chunk.split("\n"))
            for chunk in self.lines[start:]
        ]


def scene_collection_names(scene: bpy.types.Scene) -> set[str]:
    """Names of every collection below the scene's master collection."""
    names: set[str] = set()

    def walk(collection: bpy.types.Collection) -> None:
        for child in collection.children:
            names.add(child.name)
            walk(child)

    walk(scene.collection)
    return names
