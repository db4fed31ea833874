"""Reading and writing the scene as a whole.

fingerprint one capture/diff of the scene for change reports, scope checks and hand edits
scope       stage scopes: what each covers, and what a piece of model code changed against it
keyframes   an object's keyframes in 4.2 and 5.x: the animation scope, scene.py
rna         the RNA property walker (a struct's simple properties to and from plain values)
info        get_scene_info: a compact prompt-sized summary of the scene
graph       the scene graph of an existing scene and the edit limits of a run that edits it
file        a scene as a .blend of its own (a render job's file, final.blend)
blank       an empty file for the headless front ends, without resetting Blender
export/     scene.py: a program that rebuilds the scene from an empty file
"""
