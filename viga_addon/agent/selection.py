"""Choosing among attempts: scene-graph coverage for init rollouts, verdicts and metrics after."""

from __future__ import annotations

from .state import Attempt, Verdict


def scene_graph_leaves(graph: dict | None) -> list[str]:
    """Names of the leaf parts of a scene graph {"objects": [{"name", "parent"}, ...]}."""
    if not graph:
        return []
    nodes = [n for n in graph.get("objects", []) if isinstance(n, dict) and n.get("name")]
    parents = {n.get("parent") for n in nodes if n.get("parent")}
    return [n["name"] for n in nodes if n["name"] not in parents]


#: what a leaf may be built from in one go (a word of its "geometry" names one), as the paper's
#: scaffold does: anything else needs a "strategy" or must be split into parts
PRIMITIVES = (
    "cube",
    "box",
    "sphere",
    "ball",
    "cylinder",
    "cone",
    "torus",
    "plane",
    "disc",
    "disk",
    "circle",
    "grid",
    "monkey",
    "curve",
    "text",
)
MAX_PROBLEMS = 6


def validate_scene_graph(graph: object) -> str | None:
    """None when the graph is usable, else every problem found (up to a few), phrased for the
    model: one root; every parent an object of the graph; names unique and non-empty; no
    cycle; every leaf atomic — its ``geometry`` names a primitive, or it has a ``strategy``
    saying how it is built (else it must be split into parts)."""
    if not isinstance(graph, dict) or not isinstance(graph.get("objects"), list):
        return 'scene_graph must be an object {"objects": [{"name": ..., "parent": ...}, ...]}'
    nodes = graph["objects"]
    if not nodes or not all(isinstance(n, dict) for n in nodes):
        return "scene_graph objects must be a non-empty list of objects"
    names = [n.get("name") for n in nodes]
    if not all(isinstance(n, str) and n.strip() for n in names):
        return "every scene_graph object needs a non-empty string name"
    problems = []
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        problems.append(f"names must be unique; repeated: {', '.join(dupes)}")
    known = set(names)
    parent = {n["name"]: n.get("parent") or None for n in nodes}
    roots = [name for name, up in parent.items() if up is None]
    if len(roots) != 1:
        which = ", ".join(roots) if roots else "none"
        problems.append(
            f"there must be exactly one root (an object with parent null, e.g. the whole "
            f"scene); found {which}"
        )
    for name, up in parent.items():
        if up is not None and up not in known:
            problems.append(f"{name!r} names parent {up!r}, which is not in the graph")
    for name in parent:
        seen, here = {name}, parent[name]
        while here in parent and here is not None:
            if here in seen:
                problems.append(f"the parents of {name!r} go round in a cycle")
                break
            seen.add(here)
            here = parent[here]
    leaves = set(scene_graph_leaves(graph))
    for node in nodes:
        if node["name"] in leaves and not _atomic(node):
            problems.append(
                f"leaf {node['name']!r} is not buildable from one primitive "
                f"(geometry {node.get('geometry')!r}): split it into parts that are, as its "
                "children, or say how it is built in its 'strategy'"
            )
    if not problems:
        return None
    more = len(problems) - MAX_PROBLEMS
    shown = problems[:MAX_PROBLEMS] + ([f"… and {more} more"] if more > 0 else [])
    return "; ".join(shown)


def _atomic(node: dict) -> bool:
    if isinstance(node.get("strategy"), str) and node["strategy"].strip():
        return True
    geometry = node.get("geometry")
    if not isinstance(geometry, str):
        return False
    words = geometry.lower().replace("_", " ").replace("-", " ").split()
    return any(word.rstrip("s") in PRIMITIVES or word in PRIMITIVES for word in words)


def coverage(graph: dict | None, object_names: list[str]) -> float | None:
    leaves = scene_graph_leaves(graph)
    if not leaves:
        return None
    present = set(object_names)
    return sum(1 for leaf in leaves if leaf in present) / len(leaves)


def _metric(attempt: Attempt) -> float:
    m = attempt.metrics or {}
    ssim = m.get("ssim")
    psnr = m.get("psnr")
    if ssim is None and psnr is None:
        return float("-inf")
    return (ssim or 0.0) * 100.0 + min(psnr or 0.0, 60.0)


def best_rollout(attempts: list[Attempt]) -> Attempt | None:
    """Most complete object coverage first, then the verifier's judgement, then the image metric.

    Coverage is measured against the union of every rollout's scene-graph leaves: a rollout whose
    own graph forgot an object must not score as complete (each attempt's ``joint_coverage``).
    """
    usable = [a for a in attempts if not a.failed]
    if not usable:
        return None
    union: set[str] = set()
    for a in usable:
        union.update(scene_graph_leaves(a.scene_graph))
    for a in usable:
        present = set(a.object_names or [])
        a.joint_coverage = (len(union & present) / len(union)) if union else None

    def key(a: Attempt) -> tuple:
        v = a.verdict
        return (
            a.joint_coverage or 0.0,
            a.coverage or 0.0,
            bool(v and v.approved),
            (v.score if v else None) or 0.0,
            _metric(a),
        )

    return max(usable, key=key)


def best_attempt(attempts: list[Attempt]) -> Attempt | None:
    """An approved attempt wins; else the last verdict's pick; else the best metric."""
    usable = [a for a in attempts if not a.failed]
    if not usable:
        return None
    for a in reversed(usable):
        if a.verdict is not None and a.verdict.approved:
            return a
    for a in reversed(usable):
        pick = a.verdict.best_attempt if a.verdict is not None else None
        if pick is not None:
            chosen = [b for b in usable if b.round == pick]
            if chosen:
                return chosen[0]
            break
    return max(usable, key=lambda a: (_metric(a), a.round))


def pick_against_metrics(attempts: list[Attempt], verdict: Verdict | None) -> dict:
    """What verdict.json records of the verifier's ``best_attempt`` against the pixel metrics:
    the round the metrics rank best and, when the two differ, a note saying so."""
    usable = [a for a in attempts if not a.failed and a.metrics]
    if not usable or verdict is None or verdict.best_attempt is None:
        return {}
    by_metrics = max(usable, key=lambda a: (_metric(a), a.round)).round
    out: dict = {"metrics_best": by_metrics}
    if by_metrics != verdict.best_attempt:
        out["disagreement"] = (
            f"the verifier picked round {verdict.best_attempt}; PSNR/SSIM rank round "
            f"{by_metrics} best"
        )
    return out
