"""Choosing among attempts: scene-graph coverage for init rollouts, verdicts and metrics after."""

from __future__ import annotations

from .state import Attempt


def scene_graph_leaves(graph: dict | None) -> list[str]:
    """Names of the leaf parts of a scene graph {"objects": [{"name", "parent"}, ...]}."""
    if not graph:
        return []
    nodes = [n for n in graph.get("objects", []) if isinstance(n, dict) and n.get("name")]
    parents = {n.get("parent") for n in nodes if n.get("parent")}
    return [n["name"] for n in nodes if n["name"] not in parents]


def validate_scene_graph(graph: object) -> str | None:
    """None when usable, else what is wrong, phrased for the model."""
    if not isinstance(graph, dict) or not isinstance(graph.get("objects"), list):
        return 'scene_graph must be an object {"objects": [{"name": ..., "parent": ...}, ...]}'
    names = [n.get("name") for n in graph["objects"] if isinstance(n, dict)]
    if not names or not all(isinstance(n, str) and n for n in names):
        return "every scene_graph object needs a non-empty string name"
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        return f"scene_graph names must be unique; repeated: {', '.join(dupes)}"
    return None


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
