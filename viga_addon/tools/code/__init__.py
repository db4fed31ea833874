"""Model-written code: running it (untrusted), the rules it runs under, what to tell the model.

execute     execute_code: run the code, report what changed, put the scene back on error
policy/     what model code may import, call and touch: static check, runtime guard, audit, limits
hints       what to tell the model about a failure (real socket and object names, renames)
scope_check the scope check: what model code changed against what its stage may change
renames     the bpy names that changed across 3.x -> 4.x -> 5.x (data for hints)
"""
