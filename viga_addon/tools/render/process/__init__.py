"""The render process: renders and the refiner's searches run outside Blender's main thread.

``client.RenderProcess`` (main thread) starts a persistent background Blender (``blender -b
--factory-startup``) or, with the bpy module, ``sys.executable``, and sends it jobs; the main
thread writes the scene file and polls, so ``Session.step()`` returns while a render runs.
``tools.scene.file`` writes the scene a job opens. ``worker`` runs inside that process;
``jobs`` is the work itself (render views of the current scene, run a refinement), the same code
the host runs in-process when the process cannot start. Imports bpy (jobs, worker); client imports only the standard library.
"""
