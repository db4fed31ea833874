"""Pure helpers both sides use — the agent (no bpy) and the tools (Blender side): they import
nothing of ours, only the standard library, numpy and Pillow.

metrics   PSNR / SSIM and the image comparisons of a render against the photo
sheets    labelled contact sheets of images (the verifier's and the selector's)
pipes     reading a child process's pipe without blocking; ending a child without waiting
"""
