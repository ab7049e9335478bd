"""A graph's named inputs: what each means (kind, range, current value) and setting them.

An input is declared in the graph file (`inputs: {prompt: text.text}`) and bound to one
node param; its type, default and range are that param's declaration, so `run --set`,
a sweep's grid and the editor's inputs panel all check values the way validation does.
Plain Python: no torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..problems import Problem, ProblemsError
from ..registry import Param, default_registry, unknown_message
from ..values import ValueProblem, parse_value, to_plain
from .model import Graph, Input


@dataclass(frozen=True)
class InputInfo:
    """An input with its param declaration and the value the graph has now."""

    input: Input
    param: Param
    value: Any            # the node's value, or the param's default when unset

    @property
    def name(self) -> str:
        return self.input.name

    def describe(self) -> str:
        """One line for help texts: `prompt (str, text.text) = 'a lighthouse': What to paint`."""
        kind = self.param.describe_kind()
        limits = [f">= {self.param.minimum:g}" if self.param.minimum is not None else "",
                  f"<= {self.param.maximum:g}" if self.param.maximum is not None else ""]
        limits = ", ".join(x for x in limits if x)
        text = f"{self.name} ({kind}{', ' + limits if limits else ''}; {self.input.target}) = {self.value!r}"
        doc = self.input.description or self.param.doc
        return f"{text}: {doc}" if doc else text


def input_problems(graph: Graph, registry=None) -> list[Problem]:
    """An error for each input bound to a node or param that does not exist, naming the input.
    Nodes of unknown types are reported by validation already: their inputs are not blamed."""
    registry = registry or default_registry()
    problems = []
    for item in graph.inputs.values():
        where = f"inputs.{item.name}"
        node = graph.nodes.get(item.node)
        if node is None:
            problems.append(Problem(f"input '{item.name}' is bound to {item.target}: "
                                    + unknown_message("node", item.node, graph.nodes), path=where))
            continue
        node_type = registry.get(node.type)
        if node_type is not None and node_type.param(item.param) is None:
            problems.append(Problem(f"input '{item.name}' is bound to {item.target}: "
                                    + unknown_message("param", item.param, node_type.param_map)
                                    + f" for {node.type}", path=where))
    return problems


def input_infos(graph: Graph, registry=None) -> list[InputInfo]:
    """Every input whose node and param exist, in declaration order."""
    registry = registry or default_registry()
    out = []
    for item in graph.inputs.values():
        param = _param_of(graph, registry, item)
        if param is not None:
            value = graph.nodes[item.node].params.get(item.param, param.default)
            out.append(InputInfo(item, param, value))
    return out


def parse_input(graph: Graph, name: str, raw: Any, registry=None) -> Any:
    """`raw` (text from a command line, or a YAML value) checked against the param of input
    `name`, as plain data for the graph file. Raises ProblemsError naming the input."""
    registry = registry or default_registry()
    item = graph.inputs.get(name)
    if item is None:
        known = list(graph.inputs)
        message = unknown_message("input", name, known)
        message += f"; this graph's inputs: {', '.join(known)}" if known else "; this graph declares no inputs"
        raise ProblemsError([Problem(message, path=f"inputs.{name}")], "bad input value")
    param = _param_of(graph, registry, item)
    if param is None:
        where = f"inputs.{name}"            # this input's problem only, not every input's
        raise ProblemsError([p for p in input_problems(graph, registry) if p.path == where] or
                            [Problem(f"input '{name}' is bound to a node of an unknown type",
                                     path=where)], "bad input value")
    try:
        value = parse_value(param, raw)
    except ValueProblem as exc:
        raise ProblemsError([Problem(f"input '{name}' ({param.describe_kind()}, {item.target}): {exc}",
                                     path=f"inputs.{name}")], "bad input value") from None
    return to_plain(value)


def with_inputs(graph: Graph, values: Mapping[str, Any], registry=None) -> Graph:
    """A copy of `graph` with each input set to its value (checked; see parse_input).
    Every bad value is reported at once."""
    registry = registry or default_registry()
    out = graph.copy()
    problems = []
    for name, raw in values.items():
        try:
            value = parse_input(graph, name, raw, registry)
        except ProblemsError as exc:
            problems += exc.problems
            continue
        item = graph.inputs[name]
        out.set_param(item.node, item.param, value)
    if problems:
        raise ProblemsError(problems, "bad input value")
    return out


def _param_of(graph: Graph, registry, item: Input) -> Param | None:
    node = graph.nodes.get(item.node)
    node_type = registry.get(node.type) if node is not None else None
    return node_type.param(item.param) if node_type is not None else None


def parse_assignments(texts, option: str = "--set") -> dict[str, str]:
    """['prompt=a lighthouse', 'size=768 512'] -> {'prompt': 'a lighthouse', 'size': '768 512'}
    (split at the first '='). Raises ProblemsError for a text without a name, or a name twice."""
    out: dict[str, str] = {}
    problems = []
    for text in texts or ():
        name, eq, value = str(text).partition("=")
        name = name.strip()
        if not eq or not name:
            problems.append(Problem(f"{option} {text!r}: write NAME=VALUE (e.g. prompt=\"a lighthouse\")"))
        elif name in out:
            problems.append(Problem(f"{option}: input '{name}' is set twice"))
        else:
            out[name] = value
    if problems:
        raise ProblemsError(problems, "bad input value")
    return out
