"""What model code may and may not reach, and the messages that say why.

Pure data and pure functions (no bpy, no state): the allowed modules and operator families, the
refused builtins, attributes, stores, strings and operators with their reasons, and the helpers
that turn a name into a refusal message (or None when it is allowed). The AST check
(``static``), the guarded objects (``guarded``, ``runtime``) and the audit hook (``audit``) all
ask these names, so a name is refused the same way before and while the code runs. Limits and
lists only one mechanism uses stay with it: constant sizes in ``static``, audit events in
``audit``, the builtins handed out in ``runtime``, the face budget in ``geometry``.
"""

from __future__ import annotations

CODE_FILENAME = "<your code>"
ADVICE = "Use bpy, bmesh, mathutils, math, random and the other allowed modules only."

# Modules model code may import (submodules must be listed to be importable / reachable).
ALLOWED_MODULES = frozenset(
    {
        "bpy",
        "bpy.types",
        "bmesh",
        "bmesh.ops",
        "bmesh.types",
        "bmesh.utils",
        "bmesh.geometry",
        "mathutils",
        "mathutils.noise",
        "mathutils.geometry",
        "mathutils.bvhtree",
        "mathutils.kdtree",
        "mathutils.interpolate",
        "math",
        "cmath",
        "random",
        "colorsys",
        "itertools",
        "functools",
        "collections",
        "collections.abc",
        "statistics",
        "numpy",
        "numpy.linalg",
        "numpy.random",
        "numpy.fft",
    }
)

# Why a module is refused, for the message (anything not allowed is refused).
_REFUSED_WHY = {
    "os": "file and process access are blocked",
    "sys": "interpreter access is blocked",
    "subprocess": "starting processes is blocked",
    "socket": "network access is blocked",
    "shutil": "file access is blocked",
    "ctypes": "raw memory access is blocked",
    "importlib": "import tricks are blocked",
    "pathlib": "file access is blocked",
    "io": "file access is blocked",
    "pickle": "loading code from data is blocked",
    "marshal": "loading code from data is blocked",
    "builtins": "builtins are fixed",
    "threading": "threads can crash Blender",
    "multiprocessing": "starting processes is blocked",
    "urllib": "network access is blocked",
    "http": "network access is blocked",
    "requests": "network access is blocked",
    "time": "sleeping would freeze Blender",
}

# Builtins model code may not name at all.
REFUSED_BUILTINS = {
    "open": "file access is blocked",
    "exec": "running generated code is blocked",
    "eval": "running generated code is blocked",
    "compile": "running generated code is blocked",
    "__import__": "use a plain import statement",
    "globals": "namespace walks are blocked",
    "locals": "namespace walks are blocked",
    "vars": "namespace walks are blocked",
    "breakpoint": "it would freeze Blender",
    "input": "it would freeze Blender",
    "help": "it opens a pager",
    "memoryview": "raw memory access is blocked",
    "license": "it reads files",
    "credits": "not needed",
    "copyright": "not needed",
}

# Attribute names refused wherever they appear (reading or writing), with the reason.
REFUSED_ATTRIBUTES = {
    # code / frame / generator internals: walks back to real globals and builtins
    **{
        name: "interpreter internals are blocked"
        for name in (
            "gi_frame",
            "gi_code",
            "gi_yieldfrom",
            "cr_frame",
            "cr_code",
            "cr_await",
            "ag_frame",
            "ag_code",
            "f_back",
            "f_globals",
            "f_locals",
            "f_builtins",
            "f_code",
            "f_trace",
            "tb_frame",
            "tb_next",
            "co_code",
            "co_consts",
            "func_globals",
            "mro",
        )
    },
    "format": "str.format walks attributes inside the template; use an f-string",
    "format_map": "str.format_map walks attributes inside the template; use an f-string",
    # reaching files or running text through the data API
    "as_module": "running a Text datablock as Python is blocked",
    "save": "writing files is blocked",
    "save_render": "writing files is blocked",
    "save_as": "writing files is blocked",
    "write": "writing files is blocked",
    "tofile": "writing files is blocked",
    "dump": "writing files is blocked",
    "load": "reading files into the scene is blocked (they could be sent to the model)",
    "reload": "reading files into the scene is blocked",
    "unpack": "unpacking writes files",
    "pack": "packing reads files",
    "libraries": "linking/appending other .blend files is blocked",
    "texts": "Text datablocks can hold scripts; they are not needed for scene code",
    "cache_files": "external cache files are blocked",
    "path_resolve": "dynamic RNA paths are blocked; use attributes",
    "preferences": "Blender's preferences are off limits",
    "window_manager": "the window manager (operators, keymaps, add-ons) is off limits",
    "driver_namespace": "Python driver namespaces are blocked",
    "handlers": "app handlers would run code later, outside the policy",
    "timers": "timers would run code later, outside the policy",
    "ctypes": "raw memory access is blocked",
    "register_class": "registering classes is blocked",
    "execfile": "running files is blocked",
    "shading_system": "OSL script shaders are blocked",
    # Blender's preferences, window manager and data-API helpers reachable other ways
    # (bpy.context.copy()["preferences"], bpy.data.window_managers[0] ...)
    **{
        name: "Blender's preferences and window manager are off limits"
        for name in (
            "filepaths",
            "addons",
            "extensions",
            "use_scripts_auto_execute",
            "keyconfigs",
            "window_managers",
            "studio_lights",
        )
    },
    "clipboard": "the clipboard may hold the artist's data",
    "temp_data": "temporary blend-file data can load other files",
    "file_path_map": "file paths of the artist's data are off limits",
    "file_path_foreach": "file paths of the artist's data are off limits",
    "pack_linked_ids_hierarchy": "packing reads files",
    "orphans_purge": "purging would delete the artist's unused data",
    **{
        name: "the sequencer loads images, movies and sounds from files"
        for name in ("sequence_editor_create", "new_image", "new_movie", "new_sound")
    },
    **{
        name: "use bpy.data and bpy.context.scene"
        for name in ("blend_data", "all_ids", "user_map", "users_scene")
    },
}
# Attribute names refused only as assignment targets (reading them is harmless).
REFUSED_STORES = {
    "filepath": "changing file paths is blocked",
    "filepath_raw": "changing file paths is blocked",
    "directory": "changing file paths is blocked",
    "expression": "Python driver expressions run outside the policy",
    "use_module": "registering a Text as a module is blocked",
    "use_autopack": "packing reads files",
    "base_path": "the compositor's File Output node writes files",
    "file_subpath": "the compositor's File Output node writes files",
}
# Node types refused as string constants (script nodes read external files / run OSL).
REFUSED_STRINGS = {
    "ShaderNodeScript": "OSL script nodes are blocked",
    "CompositorNodeOutputFile": "the File Output node writes files",
}

# bpy.ops: operator categories model code may use, and names refused inside them.
ALLOWED_OP_CATEGORIES = frozenset(
    {
        "mesh",
        "object",
        "curve",
        "curves",
        "material",
        "node",
        "transform",
        "uv",
        "collection",
        "world",
        "anim",
        "constraint",
        "surface",
        "armature",
        "pose",
        "texture",
        "lattice",
        "mball",
        "geometry",
        "particle",
        "rigidbody",
        "graph",
        "action",
        "view3d",
        "pointcloud",
        "grease_pencil",
        "gpencil",
        "sculpt",
        "paint",
        "camera",
    }
)
EXTRA_ALLOWED_OPS = frozenset({"image.new", "font.text_insert"})
# Substrings of operator names that touch files, presets, caches or other scripts.
_REFUSED_OP_WORDS = (
    "preset",
    "open",
    "save",
    "export",
    "import",
    "bake",
    "reload",
    "unpack",
    "pack_all",
    "external",
    "append",
    "script",
    "quit",
    "file",
    "browse",
    "directory",
    "cache",
    "undo",
    "redo",
    "link_append",
    "driver",
    "load",
    "image_add",
    "copybuffer",
    "pastebuffer",
    "clipboard",
    "copy_to_selected",
)
# Operators in allowed families that still reach files or the clipboard buffer files.
REFUSED_OPS = frozenset(
    {
        "material.copy",
        "material.paste",
        "object.multires_external_pack",
        "node.add_file",
        "object.lightprobe_cache_bake",
    }
)

# numpy attributes refused (file I/O, raw memory, helpers that load other code).
_NUMPY_REFUSED = frozenset(
    {
        "load",
        "save",
        "savez",
        "savez_compressed",
        "fromfile",
        "memmap",
        "loadtxt",
        "savetxt",
        "genfromtxt",
        "fromregex",
        "ctypeslib",
        "lib",
        "DataSource",
        "f2py",
        "testing",
        "distutils",
        "show_config",
        "show_runtime",
        "info",
        "source",
        "get_include",
        "core",
        # global numpy state the add-on's own numpy code shares
        "seterr",
        "seterrcall",
        "set_printoptions",
        "setbufsize",
        "set_string_function",
    }
)
_MODULE_REFUSED = {"numpy": _NUMPY_REFUSED, "random": frozenset({"SystemRandom"})}


def refusal(what: str, why: str) -> str:
    """The message for a refusal: what was refused, why, and what to use instead."""
    return f"{what} is not allowed in scene code ({why}). {ADVICE}"


# ----------------------------------------------------------------------------- names
def module_refusal(name: str) -> str | None:
    """Why importing ``name`` is refused, or None when it is allowed."""
    if not isinstance(name, str) or not name:
        return refusal("a dynamic import", "import tricks are blocked")
    if name in ALLOWED_MODULES:
        return None
    root = name.split(".")[0]
    why = _REFUSED_WHY.get(root, "only a fixed set of modules is available")
    return refusal(f"import of {name!r}", why)


def attribute_refusal(name: object, store: bool = False) -> str | None:
    """Why reading (or, with ``store``, assigning) attribute ``name`` is refused, or None."""
    if not isinstance(name, str):
        return None
    if name.startswith("_"):
        return refusal(f"attribute {name!r}", "names starting with '_' reach interpreter internals")
    if name in REFUSED_ATTRIBUTES:
        return refusal(f"attribute {name!r}", REFUSED_ATTRIBUTES[name])
    if store and name in REFUSED_STORES:
        return refusal(f"setting {name!r}", REFUSED_STORES[name])
    return None


def operator_refusal(category: str, name: str | None = None) -> str | None:
    """Why ``bpy.ops.<category>.<name>`` (or the whole category) is refused, or None."""
    if category.startswith("_") or (name or "").startswith("_"):
        return attribute_refusal("_")
    full = f"{category}.{name}" if name else category
    if name and full in EXTRA_ALLOWED_OPS:
        return None
    if category == "wm":
        # wm holds open/save/quit/link/append, preferences and context_* operators that exec()
        # strings (wm.context_set_value runs its value as Python): none is safe for model code.
        return refusal(
            f"bpy.ops.{full}", "window-manager operators open, save, link, quit or run code"
        )
    if category not in ALLOWED_OP_CATEGORIES:
        if name is None and any(op.startswith(category + ".") for op in EXTRA_ALLOWED_OPS):
            return None
        return refusal(
            f"bpy.ops.{full}",
            "this operator family touches files, preferences, "
            "add-ons, scripts, rendering or the UI; build the scene with bpy.data "
            "and the mesh/object/material operators",
        )
    if name and (full in REFUSED_OPS or any(word in name for word in _REFUSED_OP_WORDS)):
        return refusal(f"bpy.ops.{full}", "it reads or writes files, caches or scripts")
    return None


# ----------------------------------------------------------------------------- bpy and modules
_BPY_APP_ALLOWED = frozenset({"version", "version_string", "version_file", "background"})
_BPY_ALLOWED = frozenset({"data", "context", "ops", "types", "app"})


def bpy_attribute_refusal(name: str, sub: str | None = None) -> str | None:
    """Why ``bpy.<name>`` (or ``bpy.app.<sub>``) is refused, or None."""
    if name == "app":
        if sub is None or sub in _BPY_APP_ALLOWED:
            return None
        return refusal(
            f"bpy.app.{sub}",
            "handlers, timers, driver namespaces and paths run "
            "or reveal code outside the policy; only bpy.app.version* is available",
        )
    if name in _BPY_ALLOWED:
        return None
    if name.startswith("_"):
        return attribute_refusal(name)
    return refusal(
        f"bpy.{name}",
        "only bpy.data, bpy.context, bpy.ops, bpy.types and bpy.app.version are available",
    )


def module_attr_refusal(module: str, name: str) -> str | None:
    """Why ``<module>.<name>`` of an allowed module is refused (numpy's file I/O ...), or None."""
    if name in _MODULE_REFUSED.get(module, ()):
        return refusal(f"{module}.{name}", "it reads or writes files or raw memory")
    return None
