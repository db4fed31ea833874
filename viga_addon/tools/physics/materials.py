"""What an object is made of, and how dense that is.

The class comes from the object's material name first (``yellow_metal``, ``oak_top``,
``RedPlastic``), then from its Principled BSDF (Metallic ≥ 0.5: metal; Transmission ≥ 0.5:
glass), else plastic. Names are split into words (``_``, ``.``, digits, camelCase) and a word
matches a keyword when it starts with it (``wooden``, ``metallic``), so ``environment`` is not
iron and ``cloak`` is not oak.
"""

from __future__ import annotations

import re

DENSITY = {  # kg/m³
    "wood": 700.0,
    "metal": 7850.0,
    "plastic": 1050.0,
    "glass": 2500.0,
    "rubber": 1200.0,
    "ceramic": 2400.0,
    "fabric": 300.0,
}
DEFAULT = "plastic"

KEYWORDS = {
    "wood": (
        "wood",
        "oak",
        "pine",
        "walnut",
        "maple",
        "birch",
        "beech",
        "mahogany",
        "teak",
        "timber",
        "plywood",
        "mdf",
        "bamboo",
        "cork",
    ),
    "metal": (
        "metal",
        "steel",
        "iron",
        "alumin",  # aluminium, aluminum
        "chrome",
        "brass",
        "copper",
        "bronze",
        "gold",
        "silver",
        "tin",
        "zinc",
        "nickel",
        "titanium",
    ),
    "plastic": ("plastic", "acrylic", "pvc", "abs", "nylon", "vinyl", "polymer", "resin"),
    "glass": ("glass", "crystal"),
    "rubber": ("rubber", "latex", "silicone"),
    "ceramic": (
        "ceramic",
        "porcelain",
        "clay",
        "terracotta",
        "stoneware",
        "earthenware",
        "stone",
        "marble",
        "granite",
        "concrete",
        "brick",
    ),
    "fabric": (
        "fabric",
        "cloth",
        "cotton",
        "wool",
        "linen",
        "felt",
        "velvet",
        "textile",
        "silk",
        "denim",
        "canvas",
    ),
}
_SHORT = 4  # keywords this short must match a whole word ("tin" is not "tinted")


def words(name: str) -> list[str]:
    """``"RedPlastic_ball.001"`` → ``["red", "plastic", "ball"]``."""
    name = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    return [w.lower() for w in re.split(r"[^A-Za-z]+", name) if w]


def class_from_name(name: str) -> str | None:
    for word in words(name):
        for cls, keys in KEYWORDS.items():
            for key in keys:
                if word == key or (len(key) >= _SHORT and word.startswith(key)):
                    return cls
    return None


def _principled(material):
    tree = getattr(material, "node_tree", None)
    if tree is None:
        return None
    for node in tree.nodes:
        if node.type == "BSDF_PRINCIPLED":
            return node
    return None


def _input(node, *names) -> float | None:
    for name in names:  # "Transmission Weight" in 4.x+, "Transmission" before
        socket = node.inputs.get(name)
        if socket is not None:
            return float(socket.default_value)
    return None


def class_from_bsdf(material) -> tuple[str, str] | None:
    node = _principled(material)
    if node is None:
        return None
    metallic = _input(node, "Metallic")
    if metallic is not None and metallic >= 0.5:
        return "metal", f"Metallic {metallic:.2f}"
    transmission = _input(node, "Transmission Weight", "Transmission")
    if transmission is not None and transmission >= 0.5:
        return "glass", f"Transmission {transmission:.2f}"
    return None


def object_material(obj):
    """The first material of ``obj``'s slots, or None."""
    for slot in getattr(obj, "material_slots", ()):
        if slot.material is not None:
            return slot.material
    return None


def classify(obj) -> tuple[str, str]:
    """``(class, why)`` for ``obj``: ``("metal", "material yellow_metal")``."""
    material = object_material(obj)
    if material is None:
        return DEFAULT, "no material: the default"
    cls = class_from_name(material.name)
    if cls is not None:
        return cls, f"material {material.name}"
    from_bsdf = class_from_bsdf(material)
    if from_bsdf is not None:
        return from_bsdf[0], f"material {material.name}: {from_bsdf[1]}"
    return DEFAULT, f"material {material.name}: unknown, the default"
