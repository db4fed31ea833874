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
# What to do instead, one sentence each, for the kind of thing refused (a refusal must say it).
ADVICE = "Use bpy, bmesh, mathutils, math, random and the other allowed modules only."
CLEAR_SCENE_ADVICE = (
    "To start from an empty scene, call clear_scene() (already in your namespace): it removes "
    "this scene's objects and the data only they used, and keeps the render settings and the "
    "world; only a stage that may remove objects (init) may use it."
)
BUILD_ADVICE = (
    "Build the scene with bpy.data (new/remove) and the mesh, object, material and node "
    "operators; the host saves, renders and undoes for you."
)
FILES_ADVICE = (
    "Scene code cannot reach files, the network or other programs: make everything in memory "
    "with bpy.data (images with bpy.data.images.new and pixels, meshes from your own numbers)."
)
INTERNALS_ADVICE = "Use the public API: attributes and names without a leading underscore."
CODEGEN_ADVICE = "Write the code out directly instead of building and running it as text."
SETTINGS_ADVICE = (
    "Change only this scene (bpy.context.scene) and the data in bpy.data; Blender's "
    "preferences, add-ons and windows stay as they are."
)
NOW_ADVICE = "Do the work now, in this call: nothing may run after it returns."
SIZE_ADVICE = "Build less at once, or in several calls."
LIMIT_ADVICE = (
    "Let errors reach the end of the call: catch Exception (not BaseException) and do not "
    "return from 'finally'."
)
CONSOLE_ADVICE = "Nobody is at the keyboard: print() what you want to report."
MODULE_STATE_ADVICE = "Keep your own values in your own variables."

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

SAVE_ADVICE = (
    "Nothing needs saving or loading: the host saves and renders the scene; keep your data in "
    "memory."
)
NODES_ADVICE = "Build the material from Blender's standard shader nodes."


def _table(*groups: tuple[tuple[str, ...], str, str]) -> tuple[dict, dict]:
    """(names, why, advice) groups as {name: why} and {name: advice}."""
    why = {name: reason for names, reason, _ in groups for name in names}
    advice = {name: instead for names, _, instead in groups for name in names}
    return why, advice


# Builtins model code may not name at all: why, and what to do instead.
REFUSED_BUILTINS, BUILTIN_ADVICE = _table(
    (("open",), "file access is blocked", FILES_ADVICE),
    (("exec", "eval", "compile"), "running generated code is blocked", CODEGEN_ADVICE),
    (("__import__",), "use a plain import statement", "Write a plain import statement."),
    (
        ("globals", "locals", "vars"),
        "namespace walks are blocked",
        "Keep what you need in your own dict.",
    ),
    (("breakpoint", "input"), "it would freeze Blender", CONSOLE_ADVICE),
    (("help",), "it opens a pager", CONSOLE_ADVICE),
    (("memoryview",), "raw memory access is blocked", "Use lists or numpy arrays."),
    (("license",), "it reads files", CONSOLE_ADVICE),
    (("credits", "copyright"), "not needed", CONSOLE_ADVICE),
)

# Attribute names refused wherever they appear (reading or writing): why, and what instead.
REFUSED_ATTRIBUTES, ATTRIBUTE_ADVICE = _table(
    # code / frame / generator internals: walks back to real globals and builtins
    (
        (
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
        ),
        "interpreter internals are blocked",
        INTERNALS_ADVICE,
    ),
    (
        ("format",),
        "str.format walks attributes inside the template; use an f-string",
        'Use an f-string, e.g. f"{name}_{i:02d}".',
    ),
    (
        ("format_map",),
        "str.format_map walks attributes inside the template; use an f-string",
        'Use an f-string, e.g. f"{name}_{i:02d}".',
    ),
    # reaching files or running text through the data API
    (("as_module",), "running a Text datablock as Python is blocked", CODEGEN_ADVICE),
    (("save", "save_render", "save_as", "write"), "writing files is blocked", SAVE_ADVICE),
    (("tofile", "dump"), "writing files is blocked", FILES_ADVICE),
    (
        ("load",),
        "reading files into the scene is blocked (they could be sent to the model)",
        FILES_ADVICE,
    ),
    (("reload",), "reading files into the scene is blocked", FILES_ADVICE),
    (("unpack",), "unpacking writes files", FILES_ADVICE),
    (("pack",), "packing reads files", FILES_ADVICE),
    (("libraries",), "linking/appending other .blend files is blocked", BUILD_ADVICE),
    (
        ("texts",),
        "Text datablocks can hold scripts; they are not needed for scene code",
        "Keep helper functions in your code itself.",
    ),
    (("cache_files",), "external cache files are blocked", FILES_ADVICE),
    (
        ("path_resolve",),
        "dynamic RNA paths are blocked; use attributes",
        "Use plain attributes, e.g. obj.location.x or getattr(obj, name).",
    ),
    (("preferences",), "Blender's preferences are off limits", SETTINGS_ADVICE),
    (
        ("window_manager",),
        "the window manager (operators, keymaps, add-ons) is off limits",
        SETTINGS_ADVICE,
    ),
    (
        ("driver_namespace",),
        "Python driver namespaces are blocked",
        "Set the values in your code instead of driving them.",
    ),
    (("handlers",), "app handlers would run code later, outside the policy", NOW_ADVICE),
    (("timers",), "timers would run code later, outside the policy", NOW_ADVICE),
    (("ctypes",), "raw memory access is blocked", "Use lists or numpy arrays."),
    (
        ("register_class",),
        "registering classes is blocked",
        "Use Blender's existing types: scene code cannot register new ones.",
    ),
    (("execfile",), "running files is blocked", CODEGEN_ADVICE),
    (("shading_system",), "OSL script shaders are blocked", NODES_ADVICE),
    # Blender's preferences, window manager and data-API helpers reachable other ways
    # (bpy.context.copy()["preferences"], bpy.data.window_managers[0] ...)
    (
        (
            "filepaths",
            "addons",
            "extensions",
            "use_scripts_auto_execute",
            "keyconfigs",
            "window_managers",
            "studio_lights",
        ),
        "Blender's preferences and window manager are off limits",
        SETTINGS_ADVICE,
    ),
    (("clipboard",), "the clipboard may hold the artist's data", MODULE_STATE_ADVICE),
    (("temp_data",), "temporary blend-file data can load other files", FILES_ADVICE),
    (
        ("file_path_map", "file_path_foreach"),
        "file paths of the artist's data are off limits",
        FILES_ADVICE,
    ),
    (("pack_linked_ids_hierarchy",), "packing reads files", FILES_ADVICE),
    (
        ("orphans_purge",),
        "purging would delete the artist's unused data",
        "Remove what you made with bpy.data.<kind>.remove(item). " + CLEAR_SCENE_ADVICE,
    ),
    (
        ("sequence_editor_create", "new_image", "new_movie", "new_sound"),
        "the sequencer loads images, movies and sounds from files",
        "Build the scene in 3D; make images with bpy.data.images.new.",
    ),
    (
        ("blend_data", "all_ids", "user_map", "users_scene"),
        "they reach every datablock of the artist's file",
        "Use bpy.data and bpy.context.scene.",
    ),
)
# Attribute names refused only as assignment targets (reading them is harmless).
REFUSED_STORES, STORE_ADVICE = _table(
    (("filepath", "filepath_raw", "directory"), "changing file paths is blocked", FILES_ADVICE),
    (
        ("expression",),
        "Python driver expressions run outside the policy",
        "Set the values in your code instead of driving them.",
    ),
    (("use_module",), "registering a Text as a module is blocked", CODEGEN_ADVICE),
    (("use_autopack",), "packing reads files", FILES_ADVICE),
    (
        ("base_path", "file_subpath"),
        "the compositor's File Output node writes files",
        SAVE_ADVICE,
    ),
)
# Node types refused as string constants (script nodes read external files / run OSL).
REFUSED_STRINGS, STRING_ADVICE = _table(
    (("ShaderNodeScript",), "OSL script nodes are blocked", NODES_ADVICE),
    (("CompositorNodeOutputFile",), "the File Output node writes files", SAVE_ADVICE),
)

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


# Operators models use to start over: the refusal offers clear_scene() instead.
CLEAR_SCENE_OPS = frozenset(
    {
        "wm.read_factory_settings",
        "wm.read_homefile",
        "wm.open_mainfile",
        "scene.new",
        "scene.delete",
        "outliner.orphans_purge",
        "outliner.delete",
    }
)
# Other operators outside the allowed families, with what to do instead.
_OPERATOR_ADVICE = {
    "render": "The host renders: change the scene and call the render_view tool to see it.",
    "ed": "A call that raises is undone whole; the revert_last tool undoes your last call.",
    "screen": "The host renders and shows the scene; scene code needs no windows.",
    "wm": (
        "Build the scene with bpy.data and the mesh, object, material and node operators; to "
        "start from an empty scene, call clear_scene()."
    ),
}


def refusal(what: str, why: str, advice: str | None = None) -> str:
    """The message for a refusal: what was refused, the rule it breaks (``why``), and what to do
    instead (``advice``; a sentence that fits the kind of thing refused)."""
    return f"{what} is not allowed in scene code ({why}). {advice or BUILD_ADVICE}"


# ----------------------------------------------------------------------------- names
def module_refusal(name: str) -> str | None:
    """Why importing ``name`` is refused, or None when it is allowed."""
    if not isinstance(name, str) or not name:
        return refusal("a dynamic import", "import tricks are blocked", ADVICE)
    if name in ALLOWED_MODULES:
        return None
    root = name.split(".")[0]
    why = _REFUSED_WHY.get(root, "only a fixed set of modules is available")
    return refusal(f"import of {name!r}", why, ADVICE)


def attribute_refusal(name: object, store: bool = False) -> str | None:
    """Why reading (or, with ``store``, assigning) attribute ``name`` is refused, or None."""
    if not isinstance(name, str):
        return None
    if name.startswith("_"):
        return refusal(
            f"attribute {name!r}",
            "names starting with '_' reach interpreter internals",
            INTERNALS_ADVICE,
        )
    if name in REFUSED_ATTRIBUTES:
        return refusal(f"attribute {name!r}", REFUSED_ATTRIBUTES[name], ATTRIBUTE_ADVICE[name])
    if store and name in REFUSED_STORES:
        return refusal(f"setting {name!r}", REFUSED_STORES[name], STORE_ADVICE[name])
    return None


def builtin_refusal(name: str) -> str:
    """The refusal of the builtin ``name`` (one of ``REFUSED_BUILTINS``)."""
    return refusal(f"{name!r}", REFUSED_BUILTINS[name], BUILTIN_ADVICE.get(name))


def string_refusal(value: str) -> str:
    """The refusal of the string constant ``value`` (one of ``REFUSED_STRINGS``)."""
    return refusal(f"{value!r}", REFUSED_STRINGS[value], STRING_ADVICE.get(value))


def operator_refusal(category: str, name: str | None = None) -> str | None:
    """Why ``bpy.ops.<category>.<name>`` (or the whole category) is refused, or None."""
    if category.startswith("_") or (name or "").startswith("_"):
        return attribute_refusal("_")
    full = f"{category}.{name}" if name else category
    if name and full in EXTRA_ALLOWED_OPS:
        return None
    if full in CLEAR_SCENE_OPS:
        why = {
            "wm": "it would reset or replace the artist's whole file, not only this scene",
            "scene": "the run works in its own scene, which must stay",
            "outliner": "it would delete the artist's data too",
        }[category]
        return refusal(f"bpy.ops.{full}", why, CLEAR_SCENE_ADVICE)
    if category == "wm":
        # wm holds open/save/quit/link/append, preferences and context_* operators that exec()
        # strings (wm.context_set_value runs its value as Python): none is safe for model code.
        return refusal(
            f"bpy.ops.{full}",
            "window-manager operators open, save, link, quit or run code",
            _OPERATOR_ADVICE["wm"],
        )
    if category not in ALLOWED_OP_CATEGORIES:
        if name is None and any(op.startswith(category + ".") for op in EXTRA_ALLOWED_OPS):
            return None
        return refusal(
            f"bpy.ops.{full}",
            "this operator family touches files, preferences, add-ons, scripts, rendering or the "
            "UI",
            _OPERATOR_ADVICE.get(category, BUILD_ADVICE),
        )
    if name and (full in REFUSED_OPS or any(word in name for word in _REFUSED_OP_WORDS)):
        advice = (
            "Baking is not available: build the look with shader nodes."
            if "bake" in name
            else "Make it in code with bpy.data instead of loading, saving or copying it."
        )
        return refusal(f"bpy.ops.{full}", "it reads or writes files, caches or scripts", advice)
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
            "handlers, timers, driver namespaces and paths run or reveal code outside the policy",
            "Only bpy.app.version, version_string, version_file and background are available.",
        )
    if name in _BPY_ALLOWED:
        return None
    if name.startswith("_"):
        return attribute_refusal(name)
    return refusal(
        f"bpy.{name}",
        "only part of bpy is open to scene code",
        "Use bpy.data, bpy.context, bpy.ops, bpy.types and bpy.app.version.",
    )


def module_attr_refusal(module: str, name: str) -> str | None:
    """Why ``<module>.<name>`` of an allowed module is refused (numpy's file I/O ...), or None."""
    if name in _MODULE_REFUSED.get(module, ()):
        if module == "random":
            return refusal(
                f"{module}.{name}",
                "it reads the system's entropy source",
                "Use random.random(), random.uniform() and random.seed().",
            )
        return refusal(f"{module}.{name}", "it reads or writes files or raw memory", FILES_ADVICE)
    return None
