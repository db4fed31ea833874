"""Blender Python API names that changed across 3.x -> 4.x -> 5.x, for the error hints.

Pure data (tools/hints.py reads it): models write the bpy they learned, mostly Blender 2.8-3.x,
and get a KeyError or AttributeError that names only the old name. Each entry says what to write
instead. Checked against bpy 5.2.3 and 4.2.23: the hints name a new socket or node type only when
the running Blender has it, and the EEVEE engine id is read from the running Blender itself.
"""

from __future__ import annotations

from ...stages.world import PRINCIPLED_RENAMES

# Principled BSDF inputs renamed in Blender 4.0 (and "Fac" -> "Factor" on Mix Shader, Noise ...
# in 5.0, which still accepts "Fac"): the old name -> the current one. "Factor" -> "Fac" is the
# other way round, for 5.x code run on 4.x.
# The Principled BSDF renames the prompts tell the model of (stages/world.py) are the table's
# core; the hints know a few more.
SOCKET_RENAMES = {
    **PRINCIPLED_RENAMES,
    "Clearcoat Normal": "Coat Normal",
    "Fac": "Factor",
    "Factor": "Fac",
}
# Principled BSDF inputs removed in Blender 4.0, and what took their place.
SOCKET_REMOVED = {
    "Subsurface Color": "subsurface scattering takes its colour from 'Base Color' now",
    "Transmission Roughness": "'Roughness' applies to transmission too now",
}
# Sockets that kept their name but changed type in Blender 4.0.
SOCKET_TYPE_CHANGED = {
    "Specular Tint": "a colour (R, G, B, A) since Blender 4.0; it was a 0-1 number before",
    "Sheen Tint": "a colour (R, G, B, A) since Blender 4.0; it was a 0-1 number before",
}
# Node types removed since Blender 3.x -> (what to create instead, since when, how).
NODE_TYPE_RENAMES = {
    "ShaderNodeTexMusgrave": ("ShaderNodeTexNoise", "4.1", " and set its noise_type, e.g. 'FBM'"),
    "ShaderNodeBsdfVelvet": ("ShaderNodeBsdfSheen", "4.0", ""),
    "ShaderNodeSeparateRGB": ("ShaderNodeSeparateColor", "5.0", ""),
    "ShaderNodeCombineRGB": ("ShaderNodeCombineColor", "5.0", ""),
    "ShaderNodeSeparateHSV": ("ShaderNodeSeparateColor", "5.0", " with mode = 'HSV'"),
    "ShaderNodeCombineHSV": ("ShaderNodeCombineColor", "5.0", " with mode = 'HSV'"),
    "CompositorNodeSepRGBA": ("CompositorNodeSeparateColor", "5.0", ""),
    "CompositorNodeCombRGBA": ("CompositorNodeCombineColor", "5.0", ""),
}
_SMOOTH = (
    "removed in Blender 4.1: call mesh.shade_smooth(), then "
    "mesh.set_sharp_from_angle(angle=math.radians(30)) (or bpy.ops.object."
    "shade_smooth_by_angle() on the active object)"
)
_USE_NODES = "Blender 5 always uses nodes here: drop the line (node_tree is already there)"
_SHADOWS = "removed in Blender 5: shadows are set per light (light.shadow_soft_size)"
# (RNA struct or collection identifier, attribute) -> what replaced it.
ATTRIBUTE_RENAMES = {
    ("Mesh", "use_auto_smooth"): _SMOOTH,
    ("Mesh", "auto_smooth_angle"): _SMOOTH,
    ("Mesh", "calc_normals"): "removed in Blender 4.0: normals are always up to date; drop it",
    ("Mesh", "calc_normals_split"): "removed in Blender 4.1: read mesh.corner_normals",
    ("SceneEEVEE", "use_bloom"): "bloom is gone from EEVEE (it did nothing since 4.2): drop it",
    ("SceneEEVEE", "use_ssr"): "reflections are scene.eevee.use_raytracing since 4.2",
    ("SceneEEVEE", "use_ssr_refraction"): "refraction is scene.eevee.use_raytracing since 4.2",
    ("SceneEEVEE", "use_gtao"): (
        "removed in Blender 5 (ambient occlusion has no switch); its distance is "
        "bpy.context.view_layer.eevee.ambient_occlusion_distance"
    ),
    ("SceneEEVEE", "use_soft_shadows"): _SHADOWS,
    ("SceneEEVEE", "shadow_cube_size"): _SHADOWS,
    ("SceneEEVEE", "shadow_cascade_size"): _SHADOWS,
    ("SceneEEVEE", "use_motion_blur"): "moved to scene.render.use_motion_blur in 4.2",
    ("Material", "shadow_method"): (
        "removed after 4.2: use material.use_transparent_shadow; whether an object casts "
        "shadows is obj.visible_shadow"
    ),
    ("Material", "use_nodes"): _USE_NODES,
    ("World", "use_nodes"): _USE_NODES,
    ("Scene", "use_nodes"): "the compositor needs no switch in Blender 5: drop the line",
    ("Scene", "node_tree"): (
        "the compositor's tree is scene.compositing_node_group in Blender 5 (a node group: "
        "bpy.data.node_groups.new(name, 'CompositorNodeTree'))"
    ),
    ("Scene", "update"): "use bpy.context.view_layer.update() (2.80+)",
    ("SceneObjects", "link"): "link it to a collection: scene.collection.objects.link(obj)",
    ("SceneObjects", "unlink"): "unlink it from a collection: scene.collection.objects.unlink(obj)",
    ("SceneObjects", "active"): "use bpy.context.view_layer.objects.active = obj (2.80+)",
    ("Object", "select"): "use obj.select_set(True) and obj.select_get() (2.80+)",
    ("Object", "hide"): "use obj.hide_set(True), obj.hide_viewport or obj.hide_render (2.80+)",
    ("Object", "draw_type"): "renamed obj.display_type (2.80+)",
    ("BlendData", "lamps"): "renamed bpy.data.lights (2.80+)",
    ("BlendData", "groups"): "renamed bpy.data.collections (2.80+)",
}
# EEVEE's render engine id: "BLENDER_EEVEE" in 3.x and 5.x, "BLENDER_EEVEE_NEXT" in 4.2.
ENGINE_IDS = ("BLENDER_EEVEE", "BLENDER_EEVEE_NEXT")
# Enum values models write that Blender renamed: the old value -> the current one.
ENUM_RENAMES = {"GEOMETRY_NODES": "NODES"}
# Deprecation warnings: a text the warning holds -> what to do.
DEPRECATION_NOTES = {
    "'Material.use_nodes'": "materials always use nodes in Blender 5: drop mat.use_nodes = True",
    "'World.use_nodes'": "worlds always use nodes in Blender 5: drop world.use_nodes = True",
    "'Scene.use_nodes'": "the compositor needs no switch in Blender 5: drop scene.use_nodes",
}
# Why an attribute was None, by the attribute that held None ({owner}: the code before it).
NONE_REASONS = {
    "node_tree": "Set {owner}.use_nodes = True first (Blender 4.x; Blender 5 gives new "
    "materials and worlds a node tree).",
    "active_object": "No object is active: take it by name (bpy.data.objects['Name']) or keep "
    "the one you created.",
    "object": "No object is active: take it by name (bpy.data.objects['Name']) or keep the one "
    "you created.",
    "camera": "The scene has no camera yet: cam = bpy.data.objects.new('Camera', "
    "bpy.data.cameras.new('Camera')); bpy.context.scene.collection.objects.link(cam); "
    "bpy.context.scene.camera = cam.",
    "world": "The scene has no world yet: bpy.context.scene.world = bpy.data.worlds.new('World').",
    "data": "{owner} is an Empty: it has no data.",
    "active_material": "{owner} has no material yet: {owner}.data.materials.append(mat).",
}
# Names of Blender's Python console that scene code does not have.
CONSOLE_NAMES = {"C": "bpy.context", "D": "bpy.data"}
