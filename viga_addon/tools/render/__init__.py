"""Rendering and looking at the scene.

engine      preview / final renders with Cycles (GPU when present) or EEVEE
viewing     initialize_viewpoint, set_camera, investigate, set_visibility (never change the scene)
process/    the render process: renders, refinements and physics jobs off Blender's main thread
"""
