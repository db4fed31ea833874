"""refine_parameters: render-and-compare search of the continuous numbers models get wrong.

steps       the search itself, one render per step (``refine_steps``), and ``refine_parameters``
params      the parameters it can tune, by name, and the group presets
objective   renders parameter vectors, scores them against the photo, caches
closed      closed-form steps: a joint intensity scale and per-region colour ratios
lights      several lights solved per light from contributions rendered once
locate      misplaced objects found in the photo first, then refined jointly
masks       per-object masks from one flat object-ID render
tone        the view transform as a measured curve (scene-linear <-> display)
check       "never worse": the start and the result rendered at the photo's settings
"""
