"""The node-type API and the discovery of node modules.

A node type is declared once, as a class in a module of the node library
(`nodes/` in the repository, plus any folders named in the environment
variable CLIPIG_NODES_PATH). The class says everything the rest of the
program needs: sockets, params (kind, default, doc, accepted expression
groups, range), flags, the legacy CLIPig name, and (for the engine) its torch
code. The editor, validation, `main.py nodes` and the legacy converter all
read the same declaration.

Importing this module, or a node module, must stay cheap: node modules keep
torch imports inside the functions that run on the engine.
"""

from __future__ import annotations

import difflib
import importlib.util
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Iterable, Mapping

from .expressions.groups import LEARNRATE as L, RESOLUTION as R, TIME as T
from .expressions.groups import TARGET_CONSTRAINT as C, TARGET_FEATURE as F
from .problems import describe_exception

# --- socket types -----------------------------------------------------------------------------

IMAGE = "IMAGE"            # batch of RGB images [B,3,H,W] in [0,1]
FEATURE = "FEATURE"        # one CLIP target embedding + weight, loss, scale, schedule
CONSTRAINT = "CONSTRAINT"  # a non-CLIP loss on a target's view
TARGET = "TARGET"          # one target: view, features, constraints, batch, select, weight
MODEL = "MODEL"            # a loaded CLIP model (encodes views, texts and images)
SOCKET_TYPES = (IMAGE, FEATURE, CONSTRAINT, TARGET, MODEL)

# --- categories, in the order the catalog and the palette show them ----------------------------

SOURCE, MODEL_CAT, TRANSFORM, FEATURE_CAT, CONSTRAINT_CAT, TARGET_CAT, SINK = (
    "source", "model", "transform", "feature", "constraint", "target", "sink")
CATEGORIES = (SOURCE, MODEL_CAT, TRANSFORM, FEATURE_CAT, CONSTRAINT_CAT, TARGET_CAT, SINK)

# --- expression groups (spelled in clipig_nodes.expressions.groups) ------------------------------

TR = frozenset({T, R})
TRL = frozenset({T, R, L})
TRLF = frozenset({T, R, L, F})
TRLC = frozenset({T, R, L, C})

# --- param kinds -------------------------------------------------------------------------------

KINDS = ("float", "int", "number", "bool", "str", "enum", "path", "vector", "time")
NODE_PATH_ENV = "CLIPIG_NODES_PATH"


@dataclass(frozen=True)
class Socket:
    name: str
    type: str
    multi: bool = False       # inputs only: takes any number of links, in link order
    required: bool = True     # inputs only
    doc: str = ""


@dataclass(frozen=True)
class Param:
    """One declared parameter of a node type.

    kind: float, int, number (an int or a float, kept as typed: int = epochs, float = seconds),
    bool, str, enum, path, vector (fixed-length list of `item`), time (int epoch or float ratio
    of the run, "30%" too). `groups` are the expression groups whose variables the value may
    use; an empty set still accepts constant arithmetic such as `1/32`.
    """

    name: str
    kind: str
    default: Any = None
    doc: str = ""
    groups: frozenset = frozenset()
    required: bool = False
    item: str = "float"                 # vector element kind: float or int
    length: tuple = ()                  # vector: allowed lengths; one value broadcasts
    choices: tuple = ()                 # enum
    aliases: Mapping[str, str] = field(default_factory=dict)   # enum: alias -> choice
    minimum: float | None = None
    maximum: float | None = None
    # where a number may not equal the minimum (a sigma of 0, a step of 0)
    exclusive_minimum: bool = False

    @property
    def nullable(self) -> bool:
        """A param without a default that need not be set (an optional sigma, a seed)."""
        return self.default is None and not self.required

    @property
    def numeric(self) -> bool:
        return self.kind in ("float", "int", "number", "vector")

    def describe_kind(self) -> str:
        if self.kind == "vector":
            lengths = " or ".join(str(n) for n in self.length)
            return f"{lengths} x {self.item}"
        if self.kind == "enum":
            return "one of " + ", ".join(self.choices)
        return self.kind


# Short constructors keep declarations to one readable line each.

def Float(name, default=None, doc="", groups=frozenset(), **kw) -> Param:
    return Param(name, "float", default, doc, frozenset(groups), **kw)


def Int(name, default=None, doc="", groups=frozenset(), **kw) -> Param:
    return Param(name, "int", default, doc, frozenset(groups), **kw)


def Vector(name, length, default=None, doc="", groups=frozenset(), item="float", **kw) -> Param:
    lengths = (length,) if isinstance(length, int) else tuple(length)
    return Param(name, "vector", default, doc, frozenset(groups), item=item, length=lengths, **kw)


def Enum(name, choices, default, doc="", aliases=None, **kw) -> Param:
    return Param(name, "enum", default, doc, choices=tuple(choices), aliases=dict(aliases or {}), **kw)


def Text(name, default=None, doc="", **kw) -> Param:
    return Param(name, "str", default, doc, **kw)


def FilePath(name, default=None, doc="", **kw) -> Param:
    return Param(name, "path", default, doc, **kw)


def Bool(name, default, doc="", **kw) -> Param:
    return Param(name, "bool", default, doc, **kw)


def Time(name, default, doc="", **kw) -> Param:
    return Param(name, "time", default, doc, **kw)


# --- node types --------------------------------------------------------------------------------

class NodeType:
    """Base class of every node declaration. Concrete types set `name`.

    The first line of the class docstring is the one-line doc shown in the
    palette and catalog; the rest is the long help.
    """

    name: ClassVar[str] = ""
    category: ClassVar[str] = ""
    inputs: ClassVar[tuple] = ()
    outputs: ClassVar[tuple] = ()
    params: ClassVar[tuple] = ()           # this type's own params
    shared_params: ClassVar[tuple] = ()    # params every type of a base class carries
    random: ClassVar[bool] = False         # draws random numbers on every call
    changes_resolution: ClassVar[bool] = False
    # the torch code only moves pixels (nearest neighbour, black fill) through the helpers
    # in engine.imaging, so the engine may fuse a run of such stages into one read
    geometric: ClassVar[bool] = False
    legacy_name: ClassVar[str | None] = None    # key in CLIPig YAML (transforms, constraints)
    legacy_value: ClassVar[str | None] = None   # param CLIPig takes directly (`noise: 0.1`)
    module: ClassVar[str] = ""             # file the type was declared in (set on load)

    # filled by __init_subclass__
    param_list: ClassVar[tuple] = ()
    param_map: ClassVar[dict] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        own = tuple(cls.__dict__.get("params", ()))
        cls.param_list = own + tuple(p for p in cls.shared_params if p.name not in {q.name for q in own})
        cls.param_map = {p.name: p for p in cls.param_list}

    @classmethod
    def doc(cls) -> str:
        return (cls.__doc__ or "").strip().split("\n")[0].strip()

    @classmethod
    def long_doc(cls) -> str:
        lines = (cls.__doc__ or "").strip().split("\n")[1:]
        return "\n".join(line.strip() for line in lines).strip()

    @classmethod
    def input(cls, name: str) -> Socket | None:
        return next((s for s in cls.inputs if s.name == name), None)

    @classmethod
    def output(cls, name: str) -> Socket | None:
        return next((s for s in cls.outputs if s.name == name), None)

    @classmethod
    def param(cls, name: str) -> Param | None:
        return cls.param_map.get(name)

    @classmethod
    def check(cls, values: Mapping[str, Any]) -> list[tuple[str | None, str]]:
        """Node-level rules beyond single params, as (param or None, message) pairs.

        `values` maps every param to its parsed value: constants folded, Expression
        objects where the value changes during the run, the default where it is unset
        (None when there is no default). Override in a declaration to add rules.
        """
        return []


# --- the registry ------------------------------------------------------------------------------

BUILTIN_NODES_DIR = Path(__file__).resolve().parent.parent / "nodes"


class RegistryError(Exception):
    """A node module that cannot be loaded or declares something inconsistent."""


class Registry:
    """All known node types by name."""

    def __init__(self, types: Iterable[type[NodeType]] = ()):
        self.types: dict[str, type[NodeType]] = {}
        for t in types:
            self.add(t)

    def add(self, node_type: type[NodeType]) -> None:
        problems = declaration_problems(node_type)
        if problems:
            raise RegistryError(f"{declared_at(node_type)}: node type {node_type.__name__}: "
                                + "; ".join(problems))
        existing = self.types.get(node_type.name)
        if existing is not None:
            raise RegistryError(f"{declared_at(node_type)}: node type '{node_type.name}' is "
                                f"declared twice: also in {declared_at(existing)}")
        self.types[node_type.name] = node_type

    def __contains__(self, name) -> bool:
        return name in self.types

    def __iter__(self):
        return iter(self.types.values())

    def __len__(self) -> int:
        return len(self.types)

    def get(self, name: str) -> type[NodeType] | None:
        return self.types.get(name)

    def __getitem__(self, name: str) -> type[NodeType]:
        try:
            return self.types[name]
        except KeyError:
            raise KeyError(unknown_message("node type", name, self.types)) from None

    def by_category(self, category: str) -> list[type[NodeType]]:
        return [t for t in self.types.values() if t.category == category]

    def by_legacy_name(self, category: str, legacy_name: str) -> type[NodeType] | None:
        return next((t for t in self.by_category(category) if t.legacy_name == legacy_name), None)


def unknown_message(what: str, name: str, known: Iterable[str]) -> str:
    """'unknown node type "blurr" (did you mean "blur"?)'."""
    close = difflib.get_close_matches(str(name), list(known), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown {what} '{name}'{hint}"


def declaration_problems(t: type[NodeType]) -> list[str]:
    """Mistakes in a declaration, caught when the module loads rather than mid-run."""
    out = []
    if not t.name.replace("_", "").isalnum():
        out.append(f"name '{t.name}' must be letters, digits and _")
    if t.category not in CATEGORIES:
        out.append(f"category '{t.category}' is not one of {', '.join(CATEGORIES)}")
    for s in (*t.inputs, *t.outputs):
        if s.type not in SOCKET_TYPES:
            out.append(f"socket '{s.name}' has unknown type '{s.type}'")
    names = [p.name for p in t.param_list]
    if len(set(names)) != len(names):
        out.append("duplicate param names")
    for p in t.param_list:
        if p.kind not in KINDS:
            out.append(f"param '{p.name}' has unknown kind '{p.kind}'")
        if p.kind == "vector" and not p.length:
            out.append(f"vector param '{p.name}' declares no length")
        if p.kind == "enum" and p.default not in p.choices:
            out.append(f"enum param '{p.name}' default is not a choice")
    if t.legacy_value and t.legacy_value not in t.param_map:
        out.append(f"legacy_value '{t.legacy_value}' is not a param")
    out.extend(contract_problems(t))
    return out


def contract_problems(t: type[NodeType]) -> list[str]:
    """Methods the engine will call on a type of this category (nodebase.CONTRACT) that it lacks."""
    from .nodebase import CONTRACT    # nodebase builds on this module

    missing = [m for m in CONTRACT.get(t.category, ()) if not callable(getattr(t, m, None))]
    return [f"a {t.category} must define {m}() (see clipig_nodes/nodebase.py)" for m in missing]
def declared_at(node_type: type[NodeType]) -> str:
    """'file.py:12' where a node type's class statement is (the file alone if unknown)."""
    where = node_type.module or getattr(node_type, "__module__", "?")
    try:
        import inspect
        return f"{where}:{inspect.getsourcelines(node_type)[1]}"
    except (OSError, TypeError):
        return where


def load_module_file(path: Path, package: str) -> list[type[NodeType]]:
    """Import one node module by path; return the node types it declares itself.

    Whatever the module's top level raises (also SystemExit, KeyboardInterrupt or another
    BaseException) becomes a RegistryError naming the file and line: a plugin never ends
    the program on its own.
    """
    module_name = f"{package}.{path.stem}"
    try:
        spec = importlib.util.spec_from_file_location(module_name, path)
    except (OSError, ValueError) as exc:
        raise RegistryError(f"{path}: cannot load node module: {exc}") from None
    if spec is None or spec.loader is None:
        raise RegistryError(f"{path}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module   # classes must resolve their module (pickling, workers)
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:  # noqa: B036 - a broken user module must not end the program
        sys.modules.pop(module_name, None)
        raise RegistryError(f"{_error_place(path, exc)}: cannot load node module: "
                            f"{describe_exception(exc)}") from None
    found = []
    for value in vars(module).values():
        if (isinstance(value, type) and issubclass(value, NodeType) and value.name
                and value.__module__ == module_name):
            value.module = str(path)
            found.append(value)
    return found


def _error_place(path: Path, exc: BaseException) -> str:
    """'path:line' of the failing line inside the module file (a SyntaxError's own line)."""
    if isinstance(exc, SyntaxError) and exc.lineno and exc.filename == str(path):
        return f"{path}:{exc.lineno}"
    import traceback
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__)
             if Path(f.filename) == path]
    return f"{path}:{lines[-1]}" if lines else str(path)


def node_dirs(env: Mapping[str, str] | None = None) -> list[Path]:
    """The built-in node library first, then the user's folders from CLIPIG_NODES_PATH."""
    env = os.environ if env is None else env
    extra = [Path(p) for p in env.get(NODE_PATH_ENV, "").split(os.pathsep) if p.strip()]
    return [BUILTIN_NODES_DIR, *extra]


def discover(dirs: Iterable[Path] | None = None) -> Registry:
    registry = Registry()
    for index, folder in enumerate(node_dirs() if dirs is None else dirs):
        folder = Path(folder)
        if not folder.is_dir():
            raise RegistryError(f"node folder '{folder}' (from {NODE_PATH_ENV}) does not exist")
        package = "clipig_nodes_library" if index == 0 else f"clipig_nodes_user{index}"
        for path in sorted(folder.glob("*.py")):
            if path.name.startswith("_"):
                continue
            for node_type in load_module_file(path, package):
                registry.add(node_type)
    return registry


_default: Registry | None = None


def default_registry() -> Registry:
    """The registry of the built-in library plus CLIPIG_NODES_PATH, loaded once per process."""
    global _default
    if _default is None:
        _default = discover()
    return _default
