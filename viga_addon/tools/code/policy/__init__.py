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
   stores, ``preferences`` ...), denied ``bpy.ops`` operators, huge constant allocations and
   crash-sized constant calls (``sizes``) are refused with a message that says what and why.
2. **While running** (``namespace`` and ``Guard``): the code gets restricted ``__builtins__`` (a
   safe ``__import__`` that only returns guarded allowed modules; ``getattr``/``setattr``/
   ``hasattr``/``delattr`` that apply the same name rules to dynamic names; ``type`` that hands
   out Blender classes read-only), a guarded ``bpy`` (``bpy.ops`` only hands out allowed
   operators, ``bpy.app`` only version facts, ``bpy.types`` read-only classes, ``bpy.data``
   without the datablocks of the artist's other scenes; no ``bpy.utils``, ``bpy.props``,
   ``bpy.msgbus`` or ``bpy.path``) and guarded modules (no private attributes, no submodules
   outside the allow list, no monkey-patching). A watchdog thread raises ``ExecutionTimeout`` in
   the main thread once the deadline passes (PyThreadState_SetAsyncExc, repeated until the code
   is out; bare ``except:`` and ``except BaseException`` are compiled as ``except Exception``,
   ``__exit__`` and ``return`` in ``finally`` are refused, so the code cannot swallow it), and on
   Linux the address space is capped with ``RLIMIT_AS`` (2 GB above what Blender uses) while it
   runs. Calls that allocate in one C call (mesh primitives, ``vertices.add``, ``images.new``
   ...) are sized from their arguments (``sizes``) and refused above the cap, since Blender
   crashes when such an allocation fails. After it ran, geometry its modifiers would blow up
   (``heavy_geometry``) is refused before anything evaluates the scene.
3. **A process-wide audit hook** (PEP 578), installed once and active only while model code runs
   on this thread: it refuses file opens (except reading Python's/Blender's own install files),
   socket, subprocess/os.system/exec/spawn/fork, ctypes, file-system changes, new imports outside
   the allow list, and ``exec``/``compile`` called straight from the model's frames. It is the
   backstop for any object the code reaches that the first two layers did not foresee.

Not contained (and why): a single long C call (``sum(range(n))`` with a huge non-constant n,
one huge bpy operator) cannot be interrupted from Python; it ends when the call returns, then
the deadline fires. Memory is bounded by the address-space cap only on Linux. Blender's C code
reading/writing files does not raise audit events; the operators and data-API names that do so
are refused by name instead.

numpy is allowed (``foreach_get``/``foreach_set`` with arrays is the fast way to build big meshes,
and models reach for it), but through a guarded module without its file readers/writers
(``load``, ``save*``, ``fromfile``, ``memmap``, ``*txt`` ...), ``ctypeslib``, ``lib``, ``testing``
and ``f2py``; ``ndarray.tofile``/``dump``/``ctypes`` are refused by name and by the audit hook.

The package, one module per mechanism:

  rules     what is allowed and refused, and the refusal messages: what, the rule broken and
            what to do instead (pure data and functions)
  state     the per-thread run state (active guard, off-limits datablocks), PolicyViolation
  static    the AST check (check_code) and compile_guarded
  guarded   the guarded stand-ins for bpy, bpy.ops/app/types/data and the allowed modules
  runtime   the restricted builtins, namespace() and its clear_scene() helper
  audit     the audit hook
  limits    Guard (deadline watchdog, address-space cap) and ExecutionTimeout
  sizes     the size of one allocating call from its arguments (AST check and run time)
  geometry  heavy_geometry, the face estimate of a scene's modifiers

Imports go one way, never in a cycle: ``rules`` and ``state`` import nothing from the package;
``sizes`` imports ``rules`` and ``state``; ``static`` and ``geometry`` import ``rules`` and
``sizes``; ``guarded`` imports ``rules``, ``sizes`` and ``state``; ``runtime`` imports
``guarded``, ``rules``, ``sizes`` and ``state``; ``audit`` imports ``rules`` and
``state``; ``limits`` imports ``audit`` and ``state``; this file imports them all. No module
imports anything of viga_addon outside this package, and bpy only inside functions (the rules
and the AST check work without Blender). Code outside the package uses the names re-exported
here (``from viga_addon.tools import policy``; ``policy.check_code`` ...).
"""

from __future__ import annotations

from .audit import install_audit_hook
from .geometry import MAX_ESTIMATED_FACES, heavy_geometry
from .guarded import (
    GuardedApp,
    GuardedBpy,
    GuardedData,
    GuardedIDCollection,
    GuardedModule,
    GuardedOps,
    GuardedType,
    GuardedTypes,
    other_scene_ids,
    unwrap,
)
from .limits import DEFAULT_MEMORY_HEADROOM, DEFAULT_TIMEOUT, ExecutionTimeout, Guard
from .rules import (
    ADVICE,
    ALLOWED_MODULES,
    ALLOWED_OP_CATEGORIES,
    CLEAR_SCENE_ADVICE,
    CLEAR_SCENE_OPS,
    CODE_FILENAME,
    EXTRA_ALLOWED_OPS,
    REFUSED_ATTRIBUTES,
    REFUSED_BUILTINS,
    REFUSED_OPS,
    REFUSED_STORES,
    REFUSED_STRINGS,
    attribute_refusal,
    builtin_refusal,
    module_refusal,
    operator_refusal,
    refusal,
    string_refusal,
)
from .runtime import clear_scene, namespace, safe_builtins
from .state import PolicyViolation
from .static import MAX_CONSTANT_BITS, MAX_CONSTANT_ITEMS, check_code, compile_guarded

__all__ = [
    "ADVICE",
    "ALLOWED_MODULES",
    "ALLOWED_OP_CATEGORIES",
    "CLEAR_SCENE_ADVICE",
    "CLEAR_SCENE_OPS",
    "CODE_FILENAME",
    "DEFAULT_MEMORY_HEADROOM",
    "DEFAULT_TIMEOUT",
    "EXTRA_ALLOWED_OPS",
    "MAX_CONSTANT_BITS",
    "MAX_CONSTANT_ITEMS",
    "MAX_ESTIMATED_FACES",
    "REFUSED_ATTRIBUTES",
    "REFUSED_BUILTINS",
    "REFUSED_OPS",
    "REFUSED_STORES",
    "REFUSED_STRINGS",
    "ExecutionTimeout",
    "Guard",
    "GuardedApp",
    "GuardedBpy",
    "GuardedData",
    "GuardedIDCollection",
    "GuardedModule",
    "GuardedOps",
    "GuardedType",
    "GuardedTypes",
    "PolicyViolation",
    "attribute_refusal",
    "builtin_refusal",
    "check_code",
    "clear_scene",
    "compile_guarded",
    "heavy_geometry",
    "install_audit_hook",
    "module_refusal",
    "namespace",
    "operator_refusal",
    "other_scene_ids",
    "refusal",
    "safe_builtins",
    "string_refusal",
    "unwrap",
]
