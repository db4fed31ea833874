"""Blender-side tools the agent calls through the host (one module per tool family).

host          BlenderHost: tool name + args -> result dict, the agent's only way into Blender
execute       execute_code: run untrusted model code, report changes, restore the scene on error;
              its result text leads with the error, the failing line and a hint
hints         what to tell the model about a failure (real socket and object names, renames)
renames       the bpy names that changed across 3.x -> 4.x -> 5.x (data for hints)
policy/       the rules model code runs under: static check, runtime guard, audit hook, limits
scope         stage scopes: classify what model code changed against what the stage may change
fingerprint   one capture/diff of the scene for change reports, scope checks and hand edits
snapshot      snapshot / restore of the scene state (headless-safe, no undo)
scene_file    a scene as a .blend of its own (a render job's file, final.blend)
blank         an empty file for the headless front ends, without resetting Blender
render        preview / final renders with Cycles (GPU when present) or EEVEE
scene_info    get_scene_info: compact prompt-sized summary of the scene
viewing       initialize_viewpoint, set_camera, investigate, set_visibility (never change the scene)
scene_export/ writes scene.py, a program that rebuilds the scene from an empty file
rna           RNA property walker
refine        refine_parameters: render-and-compare search of continuous scene parameters
refine_params the parameters refine can tune, by name, and the group presets
refine_masks  per-object masks from one flat object-ID render (for refine's colour steps)

What this package may import: bpy and Blender's other modules (bmesh, mathutils), the standard
library, numpy and Pillow, and the pure helpers of ``viga_addon.agent`` such as
``agent.metrics``. Never the UI (operators, panels, ui_runtime, preferences, properties): the
tools also run headless, from the CLI, batch and the tests, where no UI is registered.
"""
