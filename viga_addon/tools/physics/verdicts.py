"""What happened to each body, in a word and a phrase, and whether the scene is physics-ready.

A scene is ready when no active body moved more than 1 cm or turned more than 2° between the
first and the last frame. A body within that is "rests" (its detail still says when it started a
few millimetres off). Otherwise, first match wins: "sunk" (it started inside another object:
the geometry says by how much, the simulation pushed it out), "floats" (it started above what is
under it, or above nothing, and fell), "rolls" (a sphere, or a cylinder on its side, that turned
about as far as it travelled), "tips" (turned over: 20° or more), "slides" (on a sloped
support), else "moves".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .contacts import MIN_OVERLAP, Contact

MOVE_TOL = 0.01  # m
TURN_TOL = 2.0  # degrees
GAP_TOL = MIN_OVERLAP  # m: a start this far off its support is worth naming
TIP_DEG = 20.0
SLOPE_DEG = 3.0


@dataclass
class Motion:
    moved: float  # m, first to last frame
    turned: float  # degrees, first to last frame
    peak_speed: float  # m/s
    dz: float  # m, height change
    path_xy: float  # m, horizontal distance travelled frame by frame
    spin: float  # radians turned, frame by frame

    @property
    def still(self) -> bool:
        return self.moved <= MOVE_TOL and self.turned <= TURN_TOL


def _angle(q0: np.ndarray, q1: np.ndarray) -> float:
    """Radians between two unit quaternions."""
    return 2.0 * math.acos(min(1.0, abs(float(np.dot(q0, q1)))))


def motion(positions: np.ndarray, rotations: np.ndarray, fps: float) -> Motion:
    steps = np.diff(positions, axis=0)
    speed = float(np.linalg.norm(steps, axis=1).max() * fps) if len(steps) else 0.0
    spin = sum(_angle(rotations[k], rotations[k + 1]) for k in range(len(rotations) - 1))
    return Motion(
        moved=float(np.linalg.norm(positions[-1] - positions[0])),
        turned=math.degrees(_angle(rotations[0], rotations[-1])),
        peak_speed=speed,
        dz=float(positions[-1, 2] - positions[0, 2]),
        path_xy=float(np.linalg.norm(steps[:, :2], axis=1).sum()) if len(steps) else 0.0,
        spin=spin,
    )


def length(metres: float) -> str:
    """``0.031`` → ``"3.1 cm"``, ``1.5`` → ``"1.50 m"``."""
    if abs(metres) >= 1.0:
        return f"{metres:.2f} m"
    return f"{metres * 100:.1f} cm"


def _roll_radius(shape: str, half, rotation0: np.ndarray) -> float | None:
    """The rolling radius of a sphere or of a cylinder lying on its side, else None."""
    if shape == "SPHERE":
        return max(half)
    if shape == "CYLINDER":
        w, x, y, _z = rotation0
        axis_z = 1.0 - 2.0 * (x * x + y * y)  # world z of the local Z axis
        if abs(axis_z) < 0.3:
            return max(half[0], half[1])
    return None


def judge(contact: Contact, m: Motion, shape: str, half, rotation0) -> tuple[str, str, str]:
    """``(verdict, detail, amount)`` of an active body; ``amount`` is the summary's figure."""
    sunk = contact.sunk_into()
    gap = contact.gap if contact.gap is not None and contact.gap > 0 else 0.0
    if m.still:
        if sunk is not None:
            return (
                "rests",
                f"settled {length(m.moved)}; started {length(sunk.depth)} inside {sunk.other}",
                "",
            )
        if contact.below is not None and gap >= GAP_TOL:
            return (
                "rests",
                f"settled {length(m.moved)}; started {length(gap)} above {contact.below}",
                "",
            )
        return "rests", "at rest", ""
    if sunk is not None:
        if sunk.axis == "+z":
            detail = (
                f"started {length(sunk.depth)} inside {sunk.other}; pushed out {length(m.moved)}"
            )
        else:
            detail = (
                f"overlapped {sunk.other} by {length(sunk.depth)}; pushed {length(m.moved)} apart"
            )
        return "sunk", detail, length(sunk.depth)
    if contact.below is None and m.dz < -MOVE_TOL:
        return "floats", f"nothing below it: fell {length(-m.dz)}", length(-m.dz)
    if gap >= GAP_TOL and m.dz < -GAP_TOL / 2:
        detail = f"fell {length(gap)} onto {contact.below}"
        if m.moved > gap + MOVE_TOL:
            detail += f", then moved {length(m.moved - gap)} more"
        return "floats", detail, length(gap)
    radius = _roll_radius(shape, half, rotation0)
    if radius and m.path_xy > MOVE_TOL and 0.5 <= m.spin * radius / m.path_xy <= 1.5:
        return "rolls", f"rolled {length(m.path_xy)}", length(m.path_xy)
    if m.turned >= TIP_DEG:
        return "tips", f"tipped over {m.turned:.0f}°", f"{m.turned:.0f}°"
    if contact.below is not None and contact.slope_deg >= SLOPE_DEG:
        detail = f"slid {length(m.moved)} down a {contact.slope_deg:.0f}° slope of {contact.below}"
        return "slides", detail, length(m.moved)
    return "moves", f"moved {length(m.moved)}, turned {m.turned:.1f}°", length(m.moved)


def summary(objects: dict[str, dict], limit: int = 4) -> str:
    """``"stable 5/6 · red_ball floats 3.0 cm"``: active bodies at rest, then the others."""
    active = {n: o for n, o in objects.items() if o.get("role") == "active"}
    resting = [n for n, o in active.items() if o.get("verdict") == "rests"]
    issues = [
        f"{n} {o['verdict']} {o.get('amount') or ''}".rstrip()
        for n, o in active.items()
        if o.get("verdict") != "rests"
    ]
    parts = [f"stable {len(resting)}/{len(active)}"]
    if not issues:
        parts.append("physics-ready")
    parts += issues[:limit]
    if len(issues) > limit:
        parts.append(f"+{len(issues) - limit} more")
    return " · ".join(parts)
