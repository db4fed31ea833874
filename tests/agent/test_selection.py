"""Choosing among attempts and checking the init stage's scene graph (pure Python)."""

from __future__ import annotations

import pytest

from viga_addon.agent.selection import (
    best_attempt,
    pick_against_metrics,
    validate_scene_graph,
)
from viga_addon.agent.state import Attempt, Verdict
from viga_addon.demo import tabletop

pytestmark = pytest.mark.smoke


def _graph(*objects):
    return {"objects": [{"name": "scene", "parent": None}, *objects]}


def test_the_demo_graphs_are_valid():
    assert validate_scene_graph(tabletop._GRAPH_FULL) is None
    assert validate_scene_graph(tabletop._GRAPH_PARTIAL) is None


@pytest.mark.parametrize(
    "graph, expect",
    [
        ("not a dict", "must be an object"),
        ({"objects": []}, "non-empty list"),
        ({"objects": [{"name": ""}]}, "non-empty string name"),
        (_graph({"name": "a", "parent": "scene", "geometry": "cube"}, {"name": "a"}), "unique"),
        (
            {"objects": [{"name": "a", "geometry": "cube"}, {"name": "b", "geometry": "cube"}]},
            "exactly one root",
        ),
        (_graph({"name": "cup", "parent": "table", "geometry": "cylinder"}), "'table'"),
        (
            _graph({"name": "chair", "parent": "scene", "geometry": "wooden chair"}),
            "leaf 'chair' is not buildable",
        ),
        (_graph({"name": "chair", "parent": "scene"}), "split it into parts"),
        (
            _graph(
                {"name": "a", "parent": "b", "geometry": "cube"},
                {"name": "b", "parent": "a", "geometry": "cube"},
            ),
            "cycle",
        ),
    ],
)
def test_an_unusable_graph_says_what_to_fix(graph, expect):
    problem = validate_scene_graph(graph)
    assert problem and expect in problem


def test_a_leaf_is_atomic_by_a_primitive_or_a_strategy():
    ok = _graph(
        {"name": "lamp_shade", "parent": "scene", "geometry": "truncated cone"},
        {"name": "books", "parent": "scene", "geometry": "cubes"},
        {"name": "vase", "parent": "scene", "strategy": "spin a profile curve (screw modifier)"},
        {"name": "chair", "parent": "scene", "geometry": "chair"},
        {"name": "seat", "parent": "chair", "geometry": "flattened box"},
    )
    assert validate_scene_graph(ok) is None  # chair has a child now: only leaves must be atomic


def _attempt(n, psnr, verdict=None):
    return Attempt(
        round=n,
        snapshot=f"r{n}.blend",
        render=f"r{n}.png",
        metrics={"psnr": psnr, "ssim": 0.5},
        verdict=verdict,
    )


def test_the_verifiers_pick_and_the_metrics_are_compared():
    attempts = [_attempt(1, 20.0), _attempt(2, 25.0, Verdict(False, ["x"], best_attempt=1))]
    assert best_attempt(attempts).round == 1  # the verifier's pick stands
    noted = pick_against_metrics(attempts, attempts[-1].verdict)
    assert noted["metrics_best"] == 2 and "picked round 1" in noted["disagreement"]
    agree = pick_against_metrics(attempts, Verdict(False, [], best_attempt=2))
    assert agree == {"metrics_best": 2}
    assert pick_against_metrics(attempts, None) == {}
