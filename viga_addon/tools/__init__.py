"""Blender-side tools the agent calls through the host        BlenderHost: tool name + args -> result dict, the agent's only way into Blender
code/       model-written code: execute_code, the policy it runs under, failure hints
scene/      the scene as a whole: fingerprint, scopes, RNA walker, scene info, files, scene.py
snapshot/   snapshot / restore of the scene between stages (headless-safe, no undo)
render/     renders (Cycles / EEVEE), the viewing tools, the render process
refine/     refine_parameters: render-and-compare search of continuous scene parameters
physics/    rigid bodies and the settle check: what moves under gravity

What this package may import: bpy and Blender's other modules (bmesh, mathutils), the standard
library, numpy and Pillow, ``viga_addon.common`` (pure helpers) and ``viga_addon.stages``
(data). Never ``viga_addon.ui`` nor ``viga_addon.agent``: the tools also run headless, from the CLI, batch and the tests, where no UI is registered.
"""
