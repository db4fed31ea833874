"""The policy for model-written code: what it may import, call and touch, checked twice.

Model code runs inside the artist's Blender, so it must not reach files, the network, processes,
the artist's preferences or add-ons, and must not freeze Blender. The policy has three layers,
each of which would stop most escapes alone:

1. **Before running** (``check_code``): the AST is walked. Imports outside ``ALLOWED_MODULES``,
   the builtins ``open/exec/eval/compile/__import__/globals/locals/vars/breakpoint/input/help``,
   any attribute or name starting with ``_`` (dunder walks such as ``().__class__.__mro__``),
   frame/generator/code attributes (``gi_frame``, ``f_globals`` ...), ``str.format`` (it walks
   attributes inside the template), attribute names that reach files or run text
   (``save``, ``load``, ``write``, ``as_module``, ``filepath`` stores, driver ``expression``
   stores, ``preferences`` ...), denied ``bpy.ops`` operators and huge constant allocations are
   refused with a message that says what and why.
2. **While running** (``Guard``): the code gets restricted ``__builtins__`` (a safe
   ``__import__`` that only returns guarded allowed modules; ``getattr``/``setattr``/``hasattr``/
   ``delattr`` that apply the same name rules to dynamic names; ``type`` that hands out Blender
   classes read-only), a guarded ``bpy`` (``bpy.ops`` only hands out allowed operators,
   ``bpy.app`` only version facts, ``bpy.types`` read-only classes, ``bpy.data`` without the
   datablocks of the artist's other scenes; no ``bpy.utils``, ``bpy.props``, ``bpy.msgbus`` or
   ``bpy.path``) and guarded modules (no private attributes, no submodules outside the allow
   list, no monkey-patching). A watchdog thread raises ``ExecutionTimeout`` in the main thread
   once the deadline passes (PyThreadState_SetAsyncExc, repeated until the code is out; bare
   ``except:`` and ``except BaseException`` are compiled as ``except Exception``, ``__exit__``
   and ``return`` in ``finally`` are refused, so the code cannot swallow it), and on Linux the
   address space is capped with ``RLIMIT_AS`` (2 GB above what Blender uses) while it runs.
   After it ran, geometry its modifiers would blow up (``heavy_geometry``) is refused before
   anything evaluates the scene.
3. **A process-wide audit hook** (PEP 578), installed once and active only while model code runs
   on this thread: it refuses file opens (except reading Python's/Blender's own install files),
   socket, subprocess/os.system/exec/spawn/fork, ctypes, file-system changes, new imports outside
   the allow list, and ``exec``/``compile`` called straight from the model's frames. It is the
   backstop for any object the code reaches that the first two layers did not foresee.

Not contained (and why): a single long C call (``sum(range(n))`` with a huge non-constant n,
one huge bpy operator) cannot be interrupted from Python; it ends when the call returns, then
the deadline fires. Memory is bounded by the address-space cap only on Linux. Blender's C code reading/writing files does not raise audit events; the
operators and data-API names that do so are refused by name instead.

numpy is allowed (``foreach_get``/``foreach_set`` with arrays is the fast way to build big meshes,
and models reach for it), but through a guarded module without its file readers/writers
(``load``, ``save*``, ``fromfile``, ``memmap``, ``*txt`` ...), ``ctypeslib``, ``lib``, ``testing``
and ``f2py``; ``ndarray.tofile``/``dump``/``ctypes`` are refused by name and by the audit hook.
"""

from __future__ import annotations

import ast
import builtins as _builtins
import math
import os
import sys
import threading
import types

CODE_FILENAME = "<your code>"
DEFAULT_TIMEOUT = 10.0
DEFAULT_MEMORY_HEADROOM = 2 << 30  # bytes of address space model code may add (Linux only)
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

MAX_CONSTANT_ITEMS = 10_000_000  # biggest constant repetition / range the AST check lets through
MAX_CONSTANT_BITS = 100_000  # biggest constant integer power


class PolicyViolation(PermissionError):
    """Raised in model code when it reaches for something the policy refuses."""


class ExecutionTimeout(BaseException):
    """Raised in model code once its time is up (a BaseException so ``except Exception``
    does not swallow it)."""

    def __init__(self, *args):
        super().__init__(*(args or ("the code ran longer than its time limit and was stopped",)))


def _violation(message: str) -> PolicyViolation:
    """A refusal at run time, recorded on the active guard so the call fails even when the
    model's code catches the exception."""
    guard = getattr(_state, "guard", None)
    if guard is not None and message not in guard.refusals:
        guard.refusals.append(message)
    return PolicyViolation(message)


def refusal(what: str, why: str) -> str:
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


def attribute_refusal(name, store: bool = False) -> str | None:
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


# ----------------------------------------------------------------------------- AST check
def _const_int(node):
    """The value of a small constant integer expression, else None (never computes big ints)."""
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int)
        and not isinstance(node.value, bool)
    ):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _const_int(node.operand)
        return None if value is None else (-value if isinstance(node.op, ast.USub) else value)
    if isinstance(node, ast.BinOp):
        left, right = _const_int(node.left), _const_int(node.right)
        if left is None or right is None:
            return None
        if isinstance(node.op, ast.Pow):
            if right < 0 or _pow_bits(left, right) > MAX_CONSTANT_BITS:
                return None
            return left**right
        if isinstance(node.op, ast.Mult):
            return left * right
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.LShift) and 0 <= right <= MAX_CONSTANT_BITS:
            return left << right
    return None


def _pow_bits(base: int, exponent) -> float:
    if abs(base) < 2:
        return 1
    return exponent * math.log2(abs(base))


def _is_sequence(node) -> bool:
    if isinstance(node, (ast.List, ast.Tuple, ast.ListComp)):
        return True
    return isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes))


def _sequence_len(node) -> int:
    if isinstance(node, ast.Constant):
        return len(node.value)
    if isinstance(node, (ast.List, ast.Tuple)):
        return len(node.elts)
    return 1


class _Checker(ast.NodeVisitor):
    def __init__(self):
        self.problems: list[tuple[int, str]] = []

    def refuse(self, node, message):
        self.problems.append((getattr(node, "lineno", 0), message))

    # imports ------------------------------------------------------------------------------
    def visit_Import(self, node):
        for alias in node.names:
            problem = module_refusal(alias.name)
            if problem:
                self.refuse(node, problem)
        self.generic_visit(node)

    def visit_ImportFrom(self, node):
        if node.level:
            self.refuse(node, refusal("a relative import", "there is no package here"))
        else:
            problem = module_refusal(node.module or "")
            if problem is None:
                for alias in node.names:
                    if alias.name == "*":
                        self.refuse(
                            node,
                            refusal(f"'from {node.module} import *'", "import the names you use"),
                        )
                        continue
                    sub = f"{node.module}.{alias.name}"
                    if node.module == "bpy" and alias.name in (
                        "utils",
                        "app",
                        "props",
                        "msgbus",
                        "path",
                    ):
                        problem = _bpy_attribute_refusal(alias.name)
                    elif sub not in ALLOWED_MODULES:
                        problem = attribute_refusal(alias.name) or _module_attr_refusal(
                            node.module, alias.name
                        )
                    if problem:
                        self.refuse(node, problem)
                        problem = None
            else:
                self.refuse(node, problem)
        self.generic_visit(node)

    # names and attributes --------------------------------------------------------------------
    def visit_Name(self, node):
        name = node.id
        if name in REFUSED_BUILTINS:
            self.refuse(node, refusal(f"{name!r}", REFUSED_BUILTINS[name]))
        elif name.startswith("__") and name != "__name__":
            self.refuse(
                node,
                refusal(
                    f"the name {name!r}", "names starting with '__' reach interpreter internals"
                ),
            )
        self.generic_visit(node)

    def visit_Attribute(self, node):
        problem = attribute_refusal(node.attr, store=isinstance(node.ctx, ast.Store))
        if problem:
            self.refuse(node, problem)
        chain = _dotted(node)
        if chain and chain[0] == "bpy" and len(chain) >= 2:
            if chain[1] == "ops" and len(chain) >= 3:
                problem = operator_refusal(chain[2], chain[3] if len(chain) >= 4 else None)
            elif len(chain) == 2 or chain[1] == "app":
                problem = _bpy_attribute_refusal(chain[1], chain[2] if len(chain) > 2 else None)
            if problem:
                self.refuse(node, problem)
        self.generic_visit(node)

    def visit_Call(self, node):
        func = node.func
        if (
            isinstance(func, ast.Name)
            and func.id in ("getattr", "setattr", "hasattr", "delattr")
            and len(node.args) >= 2
        ):
            name = node.args[1]
            if isinstance(name, ast.Constant):
                problem = attribute_refusal(name.value, store=func.id in ("setattr", "delattr"))
                if problem:
                    self.refuse(node, problem)
        if isinstance(func, ast.Name) and func.id == "range":
            for arg in node.args:
                value = _const_int(arg)
                if value is not None and abs(value) > MAX_CONSTANT_ITEMS:
                    self.refuse(
                        node, refusal(f"range({value})", "loops that long would freeze Blender")
                    )
        if isinstance(func, ast.Name) and func.id in ("bytearray", "bytes") and node.args:
            value = _const_int(node.args[0])
            if value is not None and value > MAX_CONSTANT_ITEMS:
                self.refuse(
                    node,
                    refusal(f"{func.id}({value})", "allocations that big would exhaust memory"),
                )
        self.generic_visit(node)

    def visit_BinOp(self, node):
        if isinstance(node.op, ast.Pow):
            base, exponent = _const_int(node.left), _const_int(node.right)
            if (
                base is not None
                and exponent is not None
                and exponent > 0
                and _pow_bits(base, exponent) > MAX_CONSTANT_BITS
            ):
                self.refuse(
                    node, refusal("a constant power that big", "it would exhaust memory and time")
                )
        if isinstance(node.op, ast.LShift):
            shift = _const_int(node.right)
            if shift is not None and shift > MAX_CONSTANT_BITS:
                self.refuse(node, refusal("a constant shift that big", "it would exhaust memory"))
        if isinstance(node.op, ast.Mult):
            for seq, count in ((node.left, node.right), (node.right, node.left)):
                value = _const_int(count)
                if (
                    _is_sequence(seq)
                    and value is not None
                    and value * _sequence_len(seq) > MAX_CONSTANT_ITEMS
                ):
                    self.refuse(
                        node,
                        refusal("repeating a sequence that many times", "it would exhaust memory"),
                    )
        self.generic_visit(node)

    def visit_Constant(self, node):
        if isinstance(node.value, str) and node.value in REFUSED_STRINGS:
            self.refuse(node, refusal(f"{node.value!r}", REFUSED_STRINGS[node.value]))

    # ways to swallow the timeout ------------------------------------------------------------
    def visit_FunctionDef(self, node):
        if node.name in ("__exit__", "__aexit__", "__del__"):
            self.refuse(
                node,
                refusal(
                    f"defining {node.name}",
                    "it could swallow the time limit; use try/except Exception instead",
                ),
            )
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Try(self, node):
        for stmt in node.finalbody:
            for sub in _walk_same_function(stmt):
                if isinstance(sub, (ast.Return, ast.Break, ast.Continue)):
                    self.refuse(
                        sub,
                        refusal(
                            "return/break/continue inside 'finally'",
                            "it discards the error being raised",
                        ),
                    )
        self.generic_visit(node)

    visit_TryStar = visit_Try


def _walk_same_function(node):
    """ast.walk without descending into nested functions, lambdas or classes."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        for child in ast.iter_child_nodes(current):
            if not isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
            ):
                stack.append(child)


class _NoBaseException(ast.NodeTransformer):
    """Bare ``except:`` and ``BaseException`` become ``Exception``: the time limit (a
    BaseException) then always gets out of model code."""

    def visit_ExceptHandler(self, node):
        if node.type is None:
            node.type = ast.copy_location(ast.Name("Exception", ast.Load()), node)
        self.generic_visit(node)
        return node

    def visit_Name(self, node):
        if node.id == "BaseException" and isinstance(node.ctx, ast.Load):
            return ast.copy_location(ast.Name("Exception", ast.Load()), node)
        return node


def compile_guarded(code: str):
    """The code object to run: ``code`` with exception handlers that cannot catch the time
    limit (run ``check_code`` first)."""
    tree = _NoBaseException().visit(ast.parse(code, filename=CODE_FILENAME))
    ast.fix_missing_locations(tree)
    return compile(tree, CODE_FILENAME, "exec")


def _dotted(node) -> list[str] | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return parts[::-1]
    return None


def check_code(code: str, max_problems: int = 5) -> str | None:
    """Walk the code's AST; the refusal message (first problems, with line numbers) or None."""
    tree = ast.parse(code, filename=CODE_FILENAME)
    checker = _Checker()
    checker.visit(tree)
    if not checker.problems:
        return None
    seen, lines = set(), []
    for lineno, message in sorted(checker.problems):
        if message in seen:
            continue
        seen.add(message)
        lines.append(f"line {lineno}: {message}" if lineno else message)
        if len(lines) >= max_problems:
            break
    more = len({m for _, m in checker.problems}) - len(lines)
    tail = f" (+{more} more)" if more > 0 else ""
    return "; ".join(lines) + tail + " Nothing was run."


# ----------------------------------------------------------------------------- guarded objects
_BPY_APP_ALLOWED = frozenset({"version", "version_string", "version_file", "background"})
_BPY_ALLOWED = frozenset({"data", "context", "ops", "types", "app"})


def _bpy_attribute_refusal(name: str, sub: str | None = None) -> str | None:
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


def _module_attr_refusal(module: str, name: str) -> str | None:
    if name in _MODULE_REFUSED.get(module, ()):
        return refusal(f"{module}.{name}", "it reads or writes files or raw memory")
    return None


class _Guarded:
    """Base of the read-only stand-ins handed to model code."""

    __slots__ = ("_target", "_label")

    def __init__(self, target, label):
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_label", label)

    def __setattr__(self, name, value):
        raise _violation(
            refusal(f"changing {self._label}.{name}", "shared modules cannot be modified")
        )

    __delattr__ = __setattr__

    def __dir__(self):
        return [n for n in dir(self._target) if not n.startswith("_")]

    def __repr__(self):
        return f"<{self._label}>"


class GuardedModule(_Guarded):
    """An allowed module: no private names, no refused names, submodules only if allowed."""

    __slots__ = ()

    def __getattr__(self, name):
        label = self._label
        problem = attribute_refusal(name) or _module_attr_refusal(label, name)
        if problem:
            raise _violation(problem)
        value = getattr(self._target, name)
        if isinstance(value, types.ModuleType):
            sub = value.__name__
            if sub not in ALLOWED_MODULES and f"{label}.{name}" not in ALLOWED_MODULES:
                raise _violation(module_refusal(f"{label}.{name}"))
            return _guard_module(value, f"{label}.{name}" if sub not in ALLOWED_MODULES else sub)
        return value


class GuardedOps(_Guarded):
    """``bpy.ops`` and its categories: only allowed operators are handed out."""

    __slots__ = ()

    def __getattr__(self, name):
        category = self._label.split(".")[2] if self._label.count(".") >= 2 else None
        if category is None:
            problem = operator_refusal(name)
            if problem:
                raise _violation(problem)
            return GuardedOps(getattr(self._target, name), f"bpy.ops.{name}")
        problem = operator_refusal(category, name)
        if problem:
            raise _violation(problem)
        return getattr(self._target, name)


class GuardedApp(_Guarded):
    __slots__ = ()

    def __getattr__(self, name):
        problem = _bpy_attribute_refusal("app", name)
        if problem:
            raise _violation(problem)
        return getattr(self._target, name)


class GuardedBpy(_Guarded):
    __slots__ = ()

    def __getattr__(self, name):
        problem = _bpy_attribute_refusal(name)
        if problem:
            raise _violation(problem)
        value = getattr(self._target, name)
        if name == "ops":
            return GuardedOps(value, "bpy.ops")
        if name == "app":
            return GuardedApp(value, "bpy.app")
        if name == "types":
            return GuardedTypes(value, "bpy.types")
        if name == "data":
            offlimits = getattr(_state, "offlimits", None)
            if offlimits:
                return GuardedData(value, "bpy.data")
        return value


# ----------------------------------------------------------------------------- other scenes
def _other_scene_ids(scene) -> frozenset:
    """Pointers of the datablocks only other scenes of the file use (the artist's other
    work): model code may neither see, change nor remove them. Empty with one scene."""
    import bpy

    if len(bpy.data.scenes) < 2:
        return frozenset()
    uses: dict = {}
    for used, users in bpy.data.user_map().items():
        for user in users:
            uses.setdefault(user, set()).add(used)

    def reach(start):
        seen, stack = set(), [start]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            stack.extend(uses.get(current, ()))
        return seen

    mine = reach(scene)
    others = set()
    for other in bpy.data.scenes:
        if other != scene:
            others |= reach(other)
    return frozenset(i.as_pointer() for i in others - mine)


def _hidden(item) -> bool:
    offlimits = getattr(_state, "offlimits", None) or ()
    pointer = getattr(item, "as_pointer", None)
    return bool(offlimits) and pointer is not None and pointer() in offlimits


def _other_scene_refusal(what) -> str:
    return refusal(
        what, "it belongs to another scene of the artist's file; work in bpy.context.scene only"
    )


class GuardedIDCollection(_Guarded):
    """A ``bpy.data`` collection without the datablocks of the artist's other scenes."""

    __slots__ = ()

    def __getattr__(self, name):
        problem = attribute_refusal(name)
        if problem:
            raise _violation(problem)
        if name == "remove":
            return self._remove
        if name in ("keys", "values", "items"):
            return getattr(self, "_" + name)
        if name == "get":
            return self._get
        return getattr(self._target, name)

    def _check(self, item, key):
        if _hidden(item):
            raise _violation(_other_scene_refusal(f"{self._label}[{key!r}]"))
        return item

    def __getitem__(self, key):
        return self._check(self._target[key], key)

    def _get(self, key, default=None):
        item = self._target.get(key)
        return default if item is None else self._check(item, key)

    def __iter__(self):
        return (i for i in self._target if not _hidden(i))

    def __len__(self):
        return sum(1 for _ in self)

    def __bool__(self):
        return len(self) > 0

    def __contains__(self, key):
        item = self._target.get(key) if isinstance(key, str) else key
        return item is not None and item in self._target and not _hidden(item)

    def _keys(self):
        return [i.name for i in self]

    def _values(self):
        return list(self)

    def _items(self):
        return [(i.name, i) for i in self]

    def _remove(self, item, *args, **kwargs):
        self._check(item, getattr(item, "name", item))
        return self._target.remove(item, *args, **kwargs)


class GuardedData(_Guarded):
    """``bpy.data`` when the file has other scenes: their datablocks are off limits."""

    __slots__ = ()

    def __getattr__(self, name):
        problem = attribute_refusal(name)
        if problem:
            raise _violation(problem)
        value = getattr(self._target, name)
        if name == "batch_remove":

            def batch_remove(ids):
                ids = list(ids)
                for item in ids:
                    if _hidden(item):
                        raise _violation(_other_scene_refusal(f"removing {item.name!r}"))
                return value(ids)

            return batch_remove
        import bpy

        if isinstance(value, bpy.types.bpy_prop_collection):
            return GuardedIDCollection(value, f"bpy.data.{name}")
        return value


def _is_blender_type(value) -> bool:
    import bpy

    return isinstance(value, type) and issubclass(value, bpy.types.bpy_struct)


class GuardedType(_Guarded):
    """A Blender class (``bpy.types.Object``, ``type(obj)``): readable, usable in isinstance
    and issubclass, but not changeable. Blender's classes are shared with the add-on and their
    metaclass raises no audit event, so a method planted on one would run later, outside the
    policy."""

    __slots__ = ()

    def __getattr__(self, name):
        problem = attribute_refusal(name)
        if problem:
            raise _violation(problem)
        return getattr(self._target, name)

    def __instancecheck__(self, instance):
        return isinstance(instance, self._target)

    def __subclasscheck__(self, cls):
        return issubclass(_unwrap_type(cls), self._target)

    def __eq__(self, other):
        return self._target == _unwrap_type(other)

    def __hash__(self):
        return hash(self._target)

    def __call__(self, *args, **kwargs):
        return self._target(*args, **kwargs)

    def __repr__(self):
        return repr(self._target)


def _unwrap_type(value):
    return object.__getattribute__(value, "_target") if isinstance(value, GuardedType) else value


class GuardedTypes(GuardedModule):
    """``bpy.types``: every class comes as a GuardedType."""

    __slots__ = ()

    def __getattr__(self, name):
        value = GuardedModule.__getattr__(self, name)
        return GuardedType(value, f"bpy.types.{name}") if _is_blender_type(value) else value


def _safe_type(*args):
    if len(args) == 1:
        result = type(args[0])
        return GuardedType(result, result.__name__) if _is_blender_type(result) else result
    return type(*args)


def _safe_isinstance(obj, classes):
    return isinstance(obj, _unwrap_all(classes))


def _safe_issubclass(cls, classes):
    return issubclass(_unwrap_type(cls), _unwrap_all(classes))


def _unwrap_all(classes):
    if isinstance(classes, tuple):
        return tuple(_unwrap_all(c) for c in classes)
    return _unwrap_type(classes)


def _guard_module(module, label=None):
    label = label or module.__name__
    if label == "bpy.types":
        return GuardedTypes(module, "bpy.types")
    if label == "bpy":
        return GuardedBpy(module, "bpy")
    if label == "bpy.ops":
        return GuardedOps(module, "bpy.ops")
    return GuardedModule(module, label)


# ----------------------------------------------------------------------------- builtins
def _safe_import(name, globals=None, locals=None, fromlist=(), level=0):  # noqa: A002
    if isinstance(fromlist, list):
        # PyImport_Import: C code (e.g. bpy registering a type on first use) importing while a
        # model frame is current; an import statement passes None or a tuple. The audit hook
        # still refuses loading a module that is neither loaded already nor allowed.
        return _builtins.__import__(name, globals, locals, fromlist, level)
    if level:
        raise _violation(refusal("a relative import", "there is no package here"))
    problem = module_refusal(name)
    if problem:
        raise _violation(problem)
    import importlib

    module = importlib.import_module(name)
    if fromlist:
        return _guard_module(module, name)
    root = name.split(".")[0]
    return _guard_module(sys.modules[root], root)


def _safe_getattr(obj, name, *default):
    problem = attribute_refusal(name)
    if problem:
        raise _violation(problem)
    return getattr(obj, name, *default)


def _safe_hasattr(obj, name):
    if attribute_refusal(name):
        return False
    return hasattr(obj, name)


def _safe_setattr(obj, name, value):
    problem = attribute_refusal(name, store=True)
    if problem:
        raise _violation(problem)
    setattr(obj, name, value)


def _safe_delattr(obj, name):
    problem = attribute_refusal(name, store=True)
    if problem:
        raise _violation(problem)
    delattr(obj, name)


def _exit(code=None):
    raise SystemExit(code)


def _refused_builtin(name):
    def refused(*_args, **_kwargs):
        raise _violation(refusal(f"{name!r}", REFUSED_BUILTINS[name]))

    refused.__name__ = name
    return refused


_SAFE_BUILTIN_NAMES = (
    "abs",
    "all",
    "any",
    "ascii",
    "bin",
    "bool",
    "bytearray",
    "bytes",
    "callable",
    "chr",
    "classmethod",
    "complex",
    "dict",
    "dir",
    "divmod",
    "enumerate",
    "filter",
    "float",
    "format",
    "frozenset",
    "hash",
    "hex",
    "id",
    "int",
    "isinstance",
    "issubclass",
    "iter",
    "len",
    "list",
    "map",
    "max",
    "min",
    "next",
    "object",
    "oct",
    "ord",
    "pow",
    "print",
    "property",
    "range",
    "repr",
    "reversed",
    "round",
    "set",
    "slice",
    "sorted",
    "staticmethod",
    "str",
    "sum",
    "super",
    "tuple",
    "type",
    "zip",
    "aiter",
    "anext",
    "__build_class__",
    "NotImplemented",
    "Ellipsis",
    "True",
    "False",
    "None",
    "SystemExit",
    "KeyboardInterrupt",
    "GeneratorExit",
)


def safe_builtins() -> dict:
    """The ``__builtins__`` handed to model code."""
    out = {
        name: getattr(_builtins, name) for name in _SAFE_BUILTIN_NAMES if hasattr(_builtins, name)
    }
    for name, value in vars(_builtins).items():  # every exception class
        if isinstance(value, type) and issubclass(value, Exception):
            out[name] = value
    out.update(
        {
            "__import__": _safe_import,
            "getattr": _safe_getattr,
            "hasattr": _safe_hasattr,
            "setattr": _safe_setattr,
            "delattr": _safe_delattr,
            "exit": _exit,
            "quit": _exit,
            "type": _safe_type,
            "isinstance": _safe_isinstance,
            "issubclass": _safe_issubclass,
            "PolicyViolation": PolicyViolation,
        }
    )
    for name in REFUSED_BUILTINS:
        if name != "__import__":
            out[name] = _refused_builtin(name)
    return out


def namespace() -> dict:
    """A fresh namespace for model code: guarded bpy and modules, restricted builtins."""
    import bmesh
    import bpy
    import mathutils

    _state.offlimits = _other_scene_ids(bpy.context.scene)
    ns = {"__name__": "__main__", "__builtins__": safe_builtins()}
    for name, module in (
        ("bpy", bpy),
        ("bmesh", bmesh),
        ("mathutils", mathutils),
        ("math", math),
        ("random", sys.modules["random"]),
    ):
        ns[name] = _guard_module(module, name)
    for name in ("Vector", "Matrix", "Euler", "Quaternion", "Color"):
        ns[name] = getattr(mathutils, name)
    return ns


def _preload_allowed() -> None:
    """Import every allowed module now, so model code never triggers a file read to import."""
    import importlib

    for name in sorted(ALLOWED_MODULES):
        try:
            importlib.import_module(name)
        except ImportError:
            pass


# ----------------------------------------------------------------------------- audit hook
_state = threading.local()
_active_thread: list[int | None] = [None]
_hook_installed = [False]
_READ_ROOTS: tuple[str, ...] = ()

# Event name prefixes refused while model code runs.
_REFUSED_EVENTS = (
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "os.forkpty",
    "os.kill",
    "os.killpg",
    "os.remove",
    "os.unlink",
    "os.rename",
    "os.replace",
    "os.rmdir",
    "os.mkdir",
    "os.chmod",
    "os.chown",
    "os.chdir",
    "os.truncate",
    "os.symlink",
    "os.link",
    "os.listdir",
    "os.scandir",
    "os.putenv",
    "os.unsetenv",
    "os.startfile",
    "os.walk",
    "os.utime",
    "subprocess.",
    "socket.",
    "ctypes.",
    "urllib.",
    "http.",
    "ftplib.",
    "smtplib.",
    "webbrowser.",
    "shutil.",
    "glob.",
    "tempfile.",
    "sqlite3.",
    "mmap.",
    "pty.",
    "fcntl.",
    "resource.setrlimit",
    "sys.settrace",
    "sys.setprofile",
    "sys.addaudithook",
    "sys._current_frames",
    "gc.get_objects",
    "gc.get_referrers",
    "gc.get_referents",
    "marshal.load",
    "pickle.find_class",
    "code.__new__",
    "function.__new__",
    "builtins.input",
    "builtins.breakpoint",
    "cpython.run_",
    "cpython.remote_debugger_script",
    "winreg.",
    "msvcrt.",
)


def _read_roots() -> tuple[str, ...]:
    import sysconfig

    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        try:
            roots.add(sysconfig.get_path(key))
        except KeyError:
            pass
    import bpy

    roots.add(os.path.dirname(os.path.dirname(bpy.__file__)))
    return tuple(os.path.realpath(r) + os.sep for r in roots if r)


def _audit(event: str, args) -> None:
    if _active_thread[0] != threading.get_ident():
        return
    guard = getattr(_state, "guard", None)
    if guard is None or guard.suspended or getattr(_state, "in_hook", False):
        return
    _state.in_hook = True  # the checks below may raise audit events of their own
    try:
        problem = _audit_refusal(event, args)
    finally:
        _state.in_hook = False
    if problem:
        raise _violation(problem)


def _audit_refusal(event: str, args) -> str | None:
    if event == "open":
        path, mode = args[0], args[1] if len(args) > 1 else "r"
        if isinstance(path, int):
            return refusal("opening a file descriptor", "file access is blocked")
        writing = isinstance(mode, str) and any(c in mode for c in "wax+")
        if isinstance(mode, int):  # os.open flags
            writing = bool(mode & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND))
        try:
            real = os.path.realpath(os.fsdecode(path))
        except (TypeError, ValueError):
            real = ""
        if not writing and real.startswith(_READ_ROOTS):
            return None
        return refusal(f"opening {os.fsdecode(path) if real else path!r}", "file access is blocked")
    if event == "import":
        name = args[0]
        if name in sys.modules or name in ALLOWED_MODULES:
            return None
        return module_refusal(name)
    if event in ("object.__setattr__", "object.__delattr__"):
        # raised for attribute changes on classes: Blender's types and library classes are
        # shared with the add-on; a method planted there would run later, outside the policy
        target, name = args[0], args[1] if len(args) > 1 else ""
        if (
            isinstance(target, type)
            and name != "__module__"
            and target.__dict__.get("__module__") != "__main__"
        ):
            return refusal(
                f"changing the class {target.__name__!r}",
                "classes shared with Blender and the add-on cannot be modified",
            )
        return None
    if event in ("exec", "compile"):
        caller = sys._getframe(2) if _frame_depth_ok() else None
        if caller is not None and caller.f_code.co_filename == CODE_FILENAME:
            return refusal(f"{event}()", "running generated code is blocked")
        return None
    for prefix in _REFUSED_EVENTS:
        if event.startswith(prefix):
            return refusal(f"the operation {event!r}", _event_why(event))
    return None


def _frame_depth_ok() -> bool:
    try:
        sys._getframe(2)
        return True
    except ValueError:
        return False


def _event_why(event: str) -> str:
    if event.startswith(("socket.", "urllib.", "http.", "ftplib.", "smtplib.", "webbrowser.")):
        return "network access is blocked"
    if event.startswith(
        ("os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "subprocess.", "pty.")
    ):
        return "starting processes is blocked"
    if event.startswith("ctypes.") or event.startswith("mmap."):
        return "raw memory access is blocked"
    return "file, process and interpreter access are blocked"


def install_audit_hook() -> None:
    """Install the process-wide audit hook once (it cannot be removed; it is a no-op unless a
    Guard is active on the calling thread)."""
    global _READ_ROOTS
    if _hook_installed[0]:
        return
    _READ_ROOTS = _read_roots()
    _preload_allowed()
    sys.addaudithook(_audit)
    _hook_installed[0] = True


# ----------------------------------------------------------------------------- the guard
def _address_space() -> int | None:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def _set_async_exc(thread_id: int, exc_type) -> int:
    import ctypes

    return ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exc_type) if exc_type else None
    )


class Guard:
    """While active (``with Guard(...)``): audit hook armed for this thread, a watchdog that
    raises ExecutionTimeout in this thread after ``timeout`` seconds (again every
    ``REPEAT`` seconds until the guard exits), address space capped. ``refusals`` lists what the
    audit hook refused; ``timed_out`` tells whether the deadline fired.

    The watchdog uses PyThreadState_SetAsyncExc: the exception lands at the next bytecode
    boundary of this thread, so a loop in Python is stopped wherever it is, but a single long C
    call (one huge operator, ``sum`` over a huge range) only stops once it returns. Model code
    cannot swallow the exception: ``check_code`` turns bare ``except:`` and ``except
    BaseException`` into ``except Exception``, refuses ``__exit__`` methods, and the name
    BaseException is not in its builtins.
    """

    REPEAT = 0.25

    def __init__(
        self,
        timeout: float | None = DEFAULT_TIMEOUT,
        memory_headroom: int | None = DEFAULT_MEMORY_HEADROOM,
    ):
        self.timeout = timeout
        self.memory_headroom = memory_headroom
        self.refusals: list[str] = []
        self.timed_out = False
        self.suspended = False
        self._old_limit = None
        self._lock = threading.Lock()
        self._armed = False
        self._done = threading.Event()
        self._thread_id = None
        self._watchdog = None

    # deadline ------------------------------------------------------------------------------
    def _watch(self):
        if self._done.wait(float(self.timeout)):
            return
        while True:
            with self._lock:
                if not self._armed:
                    return
                self.timed_out = True
                _set_async_exc(self._thread_id, ExecutionTimeout)
            if self._done.wait(self.REPEAT):
                return

    def _disarm(self):
        with self._lock:
            was_armed = self._armed
            self._armed = False
            self._done.set()
            if was_armed and self.timed_out:
                _set_async_exc(self._thread_id, None)  # drop one that has not landed yet

    # memory --------------------------------------------------------------------------------
    def _cap_memory(self):
        if not self.memory_headroom or not sys.platform.startswith("linux"):
            return
        try:
            import resource
        except ImportError:
            return
        used = _address_space()
        if used is None:
            return
        old = resource.getrlimit(resource.RLIMIT_AS)
        wanted = used + int(self.memory_headroom)
        if old[1] != resource.RLIM_INFINITY and wanted > old[1]:
            return
        try:
            resource.setrlimit(resource.RLIMIT_AS, (wanted, old[1]))
            self._old_limit = old
        except (ValueError, OSError):
            pass

    def _uncap_memory(self):
        if self._old_limit is not None:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, self._old_limit)
            self._old_limit = None

    # context -------------------------------------------------------------------------------
    def __enter__(self):
        install_audit_hook()
        if getattr(_state, "guard", None) is not None:
            raise RuntimeError("model code is already running on this thread")
        self._thread_id = threading.get_ident()
        self._cap_memory()
        if self.timeout:
            self._armed = True
            self._watchdog = threading.Thread(
                target=self._watch, name="viga-code-watchdog", daemon=True
            )
            self._watchdog.start()
        # armed last: the set-up above raises audit events the hook would refuse
        _state.guard = self
        _active_thread[0] = self._thread_id
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        """Disarm everything (idempotent; call again if a late timeout interrupted it)."""
        _active_thread[0] = None
        _state.guard = None
        _state.offlimits = None
        self._disarm()
        self._uncap_memory()


# ----------------------------------------------------------------------------- heavy geometry
MAX_ESTIMATED_FACES = 20_000_000


def _estimated_faces(obj) -> int:
    import bpy

    data = obj.data
    faces = len(data.polygons) if isinstance(data, bpy.types.Mesh) else 1_000
    estimate = max(faces, 1)
    for mod in obj.modifiers:
        kind = mod.type
        if kind in ("SUBSURF", "MULTIRES"):
            levels = max(
                getattr(mod, name, 0) or 0
                for name in ("levels", "render_levels", "total_levels", "sculpt_levels")
            )
            estimate *= 4 ** min(int(levels), 20)
        elif kind == "ARRAY":
            estimate *= max(1, int(mod.count)) if mod.fit_type == "FIXED_COUNT" else 1
        elif kind == "SCREW":
            estimate *= max(1, int(mod.steps), int(mod.render_steps))
        elif kind == "REMESH":
            if mod.mode == "VOXEL":
                size = max(float(mod.voxel_size), 1e-6)
                extent = max(max(obj.dimensions), 1e-3)
                estimate = max(estimate, int(6 * (extent / size) ** 2))
            else:
                estimate = max(estimate, 6 * 4 ** min(int(mod.octree_depth), 20))
        elif kind == "PARTICLE_SYSTEM":
            settings = mod.particle_system.settings
            children = (
                max(1, int(getattr(settings, "rendered_child_count", 0) or 0))
                if settings.child_type != "NONE"
                else 1
            )
            estimate += int(settings.count) * children * 8
        elif kind == "DECIMATE" and mod.decimate_type == "COLLAPSE":
            estimate = int(estimate * max(min(float(mod.ratio), 1.0), 0.0)) or 1
    return estimate


def heavy_geometry(scene) -> str | None:
    """A refusal when the scene's modifiers would build more than ``MAX_ESTIMATED_FACES`` faces
    (checked after model code ran and BEFORE anything evaluates the scene: a subdivision level
    of 12 is one cheap assignment, its evaluation would freeze Blender or exhaust memory
    outside the time limit)."""
    worst = None
    for obj in scene.objects:
        try:
            estimate = _estimated_faces(obj)
        except (AttributeError, TypeError, ValueError, ReferenceError):
            continue
        if estimate > MAX_ESTIMATED_FACES and (worst is None or estimate > worst[1]):
            worst = (obj.name, estimate)
    if worst is None:
        return None
    return refusal(
        f"geometry this heavy ({worst[0]!r} would have about {worst[1]:,} faces)",
        f"evaluating more than {MAX_ESTIMATED_FACES:,} faces would freeze Blender; "
        "use fewer subdivision levels, array copies or particles",
    )
