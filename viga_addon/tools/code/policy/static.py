"""The check before model code runs: its AST is walked and refused with reasons.

``check_code`` walks the tree with ``_Checker`` (imports, names, attributes, ``bpy.ops`` and
``bpy.app`` chains, dynamic ``getattr`` names, huge constant allocations, refused strings, and the
ways to swallow the time limit: ``__exit__``/``__del__`` methods, ``return`` in ``finally``).
``compile_guarded`` compiles the code with bare ``except:`` and ``BaseException`` rewritten to
``Exception`` so the time limit always gets out, and the allocating calls routed through
``sizes.sized_attribute``. Calls whose constants already say they are too big (``sizes``) are
refused here. The rules it applies come from ``rules``.
"""

from __future__ import annotations

import ast
import math
import types

from .rules import (
    ADVICE,
    ALLOWED_MODULES,
    CODE_FILENAME,
    INTERNALS_ADVICE,
    LIMIT_ADVICE,
    REFUSED_BUILTINS,
    REFUSED_STRINGS,
    SIZE_ADVICE,
    attribute_refusal,
    bpy_attribute_refusal,
    builtin_refusal,
    module_attr_refusal,
    module_refusal,
    operator_refusal,
    refusal,
    string_refusal,
)
from .sizes import (
    COUNTED_ADD_ATTRS,
    PRIMITIVES,
    SIZED_ATTRIBUTES,
    SIZED_NAME,
    count_refusal,
    image_refusal,
    image_size_args,
    primitive_refusal,
    pydata_refusal,
)

MAX_CONSTANT_ITEMS = 10_000_000  # biggest constant repetition / range the AST check lets through
MAX_CONSTANT_BITS = 100_000  # biggest constant integer power


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
        self._named_ops: set[int] = set()  # bpy.ops.<family> nodes inside bpy.ops.<family>.<op>

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
            self.refuse(node, refusal("a relative import", "there is no package here", ADVICE))
        else:
            problem = module_refusal(node.module or "")
            if problem is None:
                for alias in node.names:
                    if alias.name == "*":
                        self.refuse(
                            node,
                            refusal(
                                f"'from {node.module} import *'",
                                "it hides which names the code uses",
                                f"Import the names you use: from {node.module} import a, b.",
                            ),
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
                        problem = bpy_attribute_refusal(alias.name)
                    elif sub not in ALLOWED_MODULES:
                        problem = attribute_refusal(alias.name) or module_attr_refusal(
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
            self.refuse(node, builtin_refusal(name))
        elif name.startswith("__") and name != "__name__":
            self.refuse(
                node,
                refusal(
                    f"the name {name!r}",
                    "names starting with '__' reach interpreter internals",
                    INTERNALS_ADVICE,
                ),
            )
        self.generic_visit(node)

    def visit_Attribute(self, node):
        problem = attribute_refusal(node.attr, store=isinstance(node.ctx, ast.Store))
        if problem:
            self.refuse(node, problem)
        chain = _dotted(node)
        if chain and chain[0] == "bpy" and len(chain) >= 2:
            if chain[1] == "ops" and len(chain) >= 4:
                # the full name says more than its family: refuse bpy.ops.wm.read_homefile once
                self._named_ops.add(id(node.value))
                problem = operator_refusal(chain[2], chain[3])
            elif chain[1] == "ops" and len(chain) == 3 and id(node) not in self._named_ops:
                problem = operator_refusal(chain[2])
            elif len(chain) == 2 or chain[1] == "app":
                problem = bpy_attribute_refusal(chain[1], chain[2] if len(chain) > 2 else None)
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
                        node,
                        refusal(
                            f"range({value})", "loops that long would freeze Blender", SIZE_ADVICE
                        ),
                    )
        problem = _size_refusal(node)
        if problem:
            self.refuse(node, problem)
        if isinstance(func, ast.Name) and func.id in ("bytearray", "bytes") and node.args:
            value = _const_int(node.args[0])
            if value is not None and value > MAX_CONSTANT_ITEMS:
                self.refuse(
                    node,
                    refusal(
                        f"{func.id}({value})",
                        "allocations that big would exhaust memory",
                        SIZE_ADVICE,
                    ),
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
                    node,
                    refusal(
                        "a constant power that big", "it would exhaust memory and time", SIZE_ADVICE
                    ),
                )
        if isinstance(node.op, ast.LShift):
            shift = _const_int(node.right)
            if shift is not None and shift > MAX_CONSTANT_BITS:
                self.refuse(
                    node,
                    refusal("a constant shift that big", "it would exhaust memory", SIZE_ADVICE),
                )
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
                        refusal(
                            "repeating a sequence that many times",
                            "it would exhaust memory",
                            SIZE_ADVICE,
                        ),
                    )
        self.generic_visit(node)

    def visit_Constant(self, node):
        if isinstance(node.value, str) and node.value in REFUSED_STRINGS:
            self.refuse(node, string_refusal(node.value))

    # ways to swallow the timeout ------------------------------------------------------------
    def visit_FunctionDef(self, node):
        if node.name in ("__exit__", "__aexit__", "__del__"):
            self.refuse(
                node,
                refusal(
                    f"defining {node.name}",
                    "it could swallow the time limit",
                    "Use try/except Exception (or a plain function) instead of a context manager "
                    "or finalizer.",
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
                            LIMIT_ADVICE,
                        ),
                    )
        self.generic_visit(node)

    visit_TryStar = visit_Try


def _constant_args(node: ast.Call) -> tuple[list, dict] | None:
    """The call's arguments where each is a constant integer (others as ``None``); None when it
    unpacks ``*args`` or ``**kwargs``."""
    if any(isinstance(a, ast.Starred) for a in node.args) or any(
        k.arg is None for k in node.keywords
    ):
        return None
    args = [_const_int(a) if not isinstance(a, ast.Constant) else a.value for a in node.args]
    return args, {k.arg: _const_int(k.value) for k in node.keywords}


def _literal_len(node) -> int | None:
    """How many items a literal list/tuple or ``[... for _ in range(N)]`` holds, else None."""
    if isinstance(node, (ast.List, ast.Tuple)):
        return len(node.elts)
    if isinstance(node, (ast.ListComp, ast.GeneratorExp)) and len(node.generators) == 1:
        it = node.generators[0].iter
        if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range":
            bounds = [_const_int(a) for a in it.args]
            if it.args and None not in bounds and len(bounds) <= 2:
                start, stop = (0, bounds[0]) if len(bounds) == 1 else bounds
                return max(stop - start, 0)
    return None


def _size_refusal(node: ast.Call) -> str | None:
    """The size refusal of a call whose size the constants in it already tell (mesh primitives,
    ``<mesh>.vertices.add(N)``, ``images.new(name, W, H)``, ``from_pydata``)."""
    chain = _dotted(node.func) or []
    func = node.func
    if not isinstance(func, ast.Attribute):
        return None
    constants = _constant_args(node)
    if constants is None:
        return None
    args, kwargs = constants
    known = {k: v for k, v in kwargs.items() if v is not None}
    name = ".".join(chain[2:] if chain[:2] == ["bpy", "ops"] else chain[-3:])
    if name in PRIMITIVES:
        return primitive_refusal(name, args, known)
    attr = func.attr
    owner = func.value.attr if isinstance(func.value, ast.Attribute) else None
    if attr == "add" and owner in COUNTED_ADD_ATTRS:
        count = args[0] if args else kwargs.get("count")
        return count_refusal(owner, count) if count is not None else None
    if (attr == "new" and owner == "images") or attr == "scale":
        width, height = image_size_args(args, kwargs)
        return image_refusal(width, height, "bpy.data.images.new" if attr == "new" else "scale")
    if attr == "from_pydata":
        keys = ("vertices", "edges", "faces")
        given = dict(zip(keys, node.args, strict=False)) | {k.arg: k.value for k in node.keywords}
        counts = {k: _literal_len(v) or 0 for k, v in given.items() if k in keys}
        return pydata_refusal(counts)
    return None


class _SizedCalls(ast.NodeTransformer):
    """Every read of ``.add``/``.new``/``.scale``/``.from_pydata`` goes through
    ``sizes.sized_attribute`` (``SIZED_NAME`` in the namespace): sized at run time, where the
    arguments are computed."""

    def visit_Attribute(self, node):
        self.generic_visit(node)
        if node.attr not in SIZED_ATTRIBUTES or not isinstance(node.ctx, ast.Load):
            return node
        call = ast.Call(ast.Name(SIZED_NAME, ast.Load()), [node.value, ast.Constant(node.attr)], [])
        return ast.copy_location(call, node)


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


def compile_guarded(code: str) -> types.CodeType:
    """The code object to run: ``code`` with exception handlers that cannot catch the time
    limit and the allocating calls sized at run time (run ``check_code`` first; run it in a
    ``runtime.namespace()``)."""
    tree = _SizedCalls().visit(_NoBaseException().visit(ast.parse(code, filename=CODE_FILENAME)))
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
