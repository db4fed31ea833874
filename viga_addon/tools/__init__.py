"""Blender-side tools the agent calls through the host (one module per tool family).

execute   execute_code: run untrusted model code, report changes, restore the scene on error
snapshot  snapshot / restore of the scene state (headless-safe, no undo)
render    preview / final renders with Cycles (GPU when present) or EEVEE
scene_info get_scene_info: compact prompt-sized summary of the scene
viewing   initialize_viewpoint, set_camera, investigate, set_visibility (never change the scene)
scene_export  write scene.py, a program that rebuilds the scene from an empty file
metrics   PSNR / SSIM between a render and the photo (numpy)
host      BlenderHost: tool name + args -> result dict, the agent's only way into Blender
"""
