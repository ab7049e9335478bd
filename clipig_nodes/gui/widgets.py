"""Param widgets, one per param kind, inside a node of the editor.

- float / int / number: a drag field; vector: one drag field with N components;
  the small `=` button beside them switches to a text field that takes
  expressions (`1 - .95*t5`) and CLIPig's list syntax (`640 480`), and back;
- bool: a checkbox; enum: a combo box; str: a text field; path: a text field and
  a `...` button for the file dialog; time: a text field (`10`, `0.3`, `30%`).

A widget only reports edits (`on_edit(node_id, name, raw)`, raw = RESET to go
back to the default) and shows values it is given (`show(value)`); the editor
turns edits into commands. Every text edit is parsed at once with
values.parse_value, so a bad value or expression is flagged inline (red frame,
message in the tooltip), before validation runs.
"""

from __future__ import annotations

import math
import re
import struct
from typing import Any, Callable

import dearpygui.dearpygui as dpg

from ..registry import Param
from ..values import ValueProblem, parse_value, split_list

RESET = object()        # "back to the default": the value is removed from the node
WIDTH = 118
WIDE = 180                # text params (prompts): room to read them; a multi-line editor too
_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")
NUMERIC = ("float", "int", "number")


# --- values <-> text ------------------------------------------------------------------------------

def format_number(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return f"{value:.1f}"
        short = f"{value:.6g}"
        return short if float(short) == value else repr(value)
    return str(value)


def to_text(value) -> str:
    """A model value as the text a user would type."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(to_text(v) for v in value)
    if isinstance(value, (int, float)):
        return format_number(value)
    return str(value)


def _literal(text: str):
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    return None


def from_text(param: Param, text: str):
    """What a typed text becomes in the model: numbers where it is plain numbers, the
    text itself where it is an expression (CLIPig syntax), RESET when emptied."""
    stripped = text.strip()
    if param.kind in (*NUMERIC, "vector", "time"):
        if not stripped:
            return RESET
        if param.kind == "vector":
            items = split_list(stripped)
            numbers = [_literal(i) if isinstance(i, str) else None for i in items]
            return numbers if items and all(n is not None for n in numbers) else stripped
        number = _literal(stripped)
        return number if number is not None else stripped
    if param.kind in ("str", "path") and not text and param.default is None:
        return RESET
    return text


def problem_of(param: Param, raw) -> str | None:
    """The parse error of a raw value, or None (None is unset: validation says if
    that is allowed)."""
    if raw is RESET or raw is None:
        return None
    try:
        parse_value(param, raw)
    except ValueProblem as exc:
        return str(exc)
    return None


def drag_value(param: Param, value):
    """The value as drag fields show it, or None when they cannot (expressions, unset,
    vectors longer than 4)."""
    if param.kind in NUMERIC:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        return None
    if param.kind == "vector":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = [value] * min(param.length)
        if (isinstance(value, (list, tuple)) and 1 < len(value) <= 4
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
            return list(value)
    return None


def shortest_float(value: float) -> float:
    """A float that came through a 32-bit field (Dear PyGui's drag fields) as the shortest
    number that is the same 32-bit value: 0.4000000059604645 -> 0.4. A value that is not
    exactly a 32-bit float, or is short already, is kept as it is."""
    if not math.isfinite(value) or len(repr(value)) <= 10 or abs(value) > 3e38:
        return value
    single = struct.pack("<f", value)
    if struct.unpack("<f", single)[0] != value:
        return value                    # a genuine 64-bit value: keep every digit
    for digits in range(1, 10):
        short = float(f"{value:.{digits}g}")
        if struct.pack("<f", short) == single:
            return short
    return value


def is_long_text(param: Param) -> bool:
    """A free text with no default (a prompt): a wide field and a multi-line editor."""
    return param.kind == "str" and param.default is None


def _int_kind(param: Param) -> bool:
    return param.kind == "int" or (param.kind == "vector" and param.item == "int")


def describe(param: Param) -> str:
    """The tooltip text: doc, kind, default, accepted expression groups."""
    lines = [param.doc] if param.doc else []
    kind = param.describe_kind()
    if param.required:
        default = "required"
    elif param.default is None:
        default = "default: unset"
    else:
        default = "default: " + to_text(param.default)
    lines.append(f"{kind}, {default}")
    if param.numeric or param.kind == "time":
        groups = ", ".join(sorted(param.groups)) or "constants only"
        lines.append(f"expressions: {groups}; right-click: reset to default")
    else:
        lines.append("right-click: reset to default")
    return "\n".join(lines)


# --- the widget -----------------------------------------------------------------------------------

class ParamWidget:
    """The widgets of one param of one node."""

    def __init__(self, parent, node_id: str, param: Param, value: Any,
                 on_edit: Callable[[str, str, Any], None], themes=None, handlers=None,
                 on_browse: Callable | None = None, before=0, zoom: float = 1.0,
                 on_long_edit: Callable | None = None):
        self.node_id, self.param = node_id, param
        self.on_edit, self.themes, self.handlers, self.on_browse = on_edit, themes, handlers, on_browse
        self.value = value                 # the model value (None = unset: the default applies)
        self.error: str | None = None      # shown inline
        self.items: list[int] = []         # every input item (for handlers and tests)
        self.text_item = self.drag_item = self.toggle = self.input = None
        self.zoom, self.on_long_edit = zoom, on_long_edit
        self.base_widths: dict[int, int] = {}      # item -> width at 100% zoom
        self.group = dpg.add_group(parent=parent, horizontal=True, horizontal_spacing=3,
                                   before=before)
        shown = param.default if value is None else value
        self.mode = "drag" if drag_value(param, shown) is not None else "text"
        self._build(shown)

    # --- building --------------------------------------------------------------------------

    def _build(self, shown) -> None:
        p = self.param
        kind = p.kind
        if kind in (*NUMERIC, "vector"):
            self.toggle = dpg.add_button(label="=" if self.mode == "drag" else "#",
                                         parent=self.group, width=self._w(16),
                                         callback=self._toggle_mode)
            self.base_widths[self.toggle] = 16
            if self.themes:
                dpg.bind_item_theme(self.toggle, self.themes.small_button)
            with dpg.tooltip(self.toggle):
                dpg.add_text("switch between a number field and an expression field")
            if self.mode == "drag":
                self.input = self.drag_item = self._add_drag(drag_value(p, shown))
            else:
                self.input = self.text_item = self._add_text(self.value, hint=self._hint())
        elif kind == "bool":
            self.input = dpg.add_checkbox(label=p.name, parent=self.group, default_value=bool(shown),
                                          callback=lambda s, a: self._edit(bool(a)))
        elif kind == "enum":
            try:
                current = parse_value(p, shown) if shown is not None else p.default
            except ValueProblem:
                current = str(shown)
            self.input = dpg.add_combo(list(p.choices), label=p.name, parent=self.group,
                                       default_value=current, width=self._w(WIDTH),
                                       callback=lambda s, a: self._edit(a))
            self.base_widths[self.input] = WIDTH
        elif kind == "path":
            self.input = self.text_item = self._add_text(self.value, hint=self._hint(),
                                                         width=WIDTH - 26)
            browse = dpg.add_button(label="...", parent=self.group, width=self._w(22),
                                    callback=lambda: self.on_browse and self.on_browse(self))
            with dpg.tooltip(browse):
                dpg.add_text("choose a file")
            self.items.append(browse)
            self.base_widths[browse] = 22
        elif is_long_text(p):
            self.input = self.text_item = self._add_text(shown, hint=self._hint(), width=WIDE - 26)
            self.more = more = dpg.add_button(label="...", parent=self.group, width=self._w(22),
                                  callback=lambda: self.on_long_edit and self.on_long_edit(self))
            with dpg.tooltip(more):
                dpg.add_text("edit in a larger, multi-line field")
            self.items.append(more)
            self.base_widths[more] = 22
        else:          # str, time
            self.input = self.text_item = self._add_text(
                self.value if kind == "time" else shown, hint=self._hint())
        self.items.append(self.input)
        with dpg.tooltip(self.input) as self.tooltip:
            dpg.add_text(describe(p), wrap=360)
            self.tooltip_error = dpg.add_text("", wrap=360, show=False,
                                              color=(230, 80, 80))
        if self.handlers is not None:
            dpg.bind_item_handler_registry(self.input, self.handlers)

    def _hint(self) -> str:
        p = self.param
        if p.required:
            return "required"
        if p.default is None:
            return "unset"
        return to_text(p.default)

    def _w(self, base: float) -> int:
        return max(4, int(round(base * self.zoom)))

    def set_zoom(self, zoom: float) -> None:
        """Scale the fields' widths (the font and paddings scale with the editor's)."""
        self.zoom = zoom
        for item, base in list(self.base_widths.items()):
            if dpg.does_item_exist(item):
                dpg.configure_item(item, width=self._w(base))
            else:
                del self.base_widths[item]

    def _add_text(self, value, hint="", width=WIDTH):
        item = dpg.add_input_text(label=self.param.name, parent=self.group, width=self._w(width),
                                  default_value=to_text(value), hint=hint,
                                  callback=lambda s, a: self._edit_text(a))
        self.base_widths[item] = width
        return item

    def _add_drag(self, value):
        p = self.param
        integer = _int_kind(p)
        extra = {}
        if p.minimum is not None:
            extra["min_value"] = p.minimum
        if p.maximum is not None:
            extra["max_value"] = p.maximum
        if extra:
            extra.setdefault("min_value", -1e12 if not integer else -2**31)
            extra.setdefault("max_value", 1e12 if not integer else 2**31 - 1)
            extra["clamped"] = True
        else:       # min == max: ImGui does not clamp (the defaults 0..100 would)
            extra = {"min_value": 0, "max_value": 0}
        width = self._w(WIDTH)
        if p.kind == "vector":
            size = len(value)
            if integer:
                item = dpg.add_drag_intx(label=p.name, parent=self.group, size=size, width=width,
                                         default_value=[int(v) for v in value] + [0] * (4 - size),
                                         speed=0.5, callback=self._edit_drag, **_int_range(extra))
            else:
                item = dpg.add_drag_floatx(label=p.name, parent=self.group, size=size, width=width,
                                           default_value=[float(v) for v in value]
                                           + [0.0] * (4 - size), speed=_speed(value),
                                           format="%.4g", callback=self._edit_drag, **extra)
        elif integer:
            item = dpg.add_drag_int(label=p.name, parent=self.group, width=width,
                                    default_value=int(value), speed=0.5, callback=self._edit_drag,
                                    **_int_range(extra))
        else:
            item = dpg.add_drag_float(label=p.name, parent=self.group, width=width,
                                      default_value=float(value), speed=_speed([value]),
                                      format="%.4g", callback=self._edit_drag, **extra)
        self.base_widths[item] = WIDTH
        return item

    # --- edits -----------------------------------------------------------------------------

    def _edit(self, raw) -> None:
        self.value = None if raw is RESET else raw
        self.flag(problem_of(self.param, raw))
        self.on_edit(self.node_id, self.param.name, raw)

    def _edit_text(self, text: str) -> None:
        self._edit(from_text(self.param, text))

    def _edit_drag(self, sender, value) -> None:
        p = self.param
        if p.kind == "vector":
            size = len(drag_value(p, self.value if self.value is not None else p.default) or []) \
                or min(p.length)
            value = list(value)[:size]
            value = [int(v) for v in value] if _int_kind(p) else [shortest_float(float(v))
                                                                  for v in value]
        elif p.kind == "int":
            value = int(value)
        elif p.kind == "number" and isinstance(self.value, int):
            value = int(round(value))
        else:
            value = shortest_float(float(value))      # the field holds 32-bit floats
        self._edit(value)

    def _toggle_mode(self) -> None:
        p = self.param
        shown = p.default if self.value is None else self.value
        if self.mode == "text":
            numbers = drag_value(p, shown)
            if numbers is None:
                try:
                    parsed = parse_value(p, shown) if shown is not None else None
                except ValueProblem:
                    parsed = None
                numbers = drag_value(p, parsed)
            if numbers is None:
                numbers = [0] * min(p.length) if p.kind == "vector" else 0
                if p.minimum is not None:
                    numbers = ([p.minimum] * len(numbers) if isinstance(numbers, list)
                               else p.minimum)
            self._set_mode("drag", numbers)
            if self.value is None or drag_value(p, self.value) is None:
                self._edit(numbers)
        else:
            self._set_mode("text", shown)

    def _set_mode(self, mode: str, shown) -> None:
        self.mode = mode
        old = self.input
        self.items.remove(old)
        dpg.delete_item(old)            # its tooltip goes with it
        if mode == "drag":
            self.input = self.drag_item = self._add_drag(shown)
            self.text_item = None
        else:
            self.input = self.text_item = self._add_text(self.value, hint=self._hint())
            self.drag_item = None
        self.items.append(self.input)
        if self.toggle is not None:
            dpg.configure_item(self.toggle, label="=" if mode == "drag" else "#")
        with dpg.tooltip(self.input) as self.tooltip:
            dpg.add_text(describe(self.param), wrap=360)
            self.tooltip_error = dpg.add_text("", wrap=360, show=False, color=(230, 80, 80))
        if self.handlers is not None:
            dpg.bind_item_handler_registry(self.input, self.handlers)
        self.flag(self.error)

    # --- from the model --------------------------------------------------------------------

    def show(self, value) -> None:
        """Show the model's value (after undo, redo, paste, open ...)."""
        if value == self.value and type(value) is type(self.value):
            return
        self.value = value
        p = self.param
        shown = p.default if value is None else value
        if p.kind in (*NUMERIC, "vector"):
            numbers = drag_value(p, shown)
            if self.mode == "drag" and numbers is None:
                self._set_mode("text", shown)
            elif self.mode == "drag":
                if p.kind == "vector" and len(numbers) != dpg.get_item_configuration(
                        self.drag_item).get("size", len(numbers)):
                    self._set_mode("drag", numbers)
                else:
                    dpg.set_value(self.drag_item, numbers + [0] * (4 - len(numbers))
                                  if isinstance(numbers, list) else numbers)
            else:
                dpg.set_value(self.text_item, to_text(value))
        elif p.kind == "bool":
            dpg.set_value(self.input, bool(shown))
        elif p.kind == "enum":
            try:
                dpg.set_value(self.input, parse_value(p, shown))
            except ValueProblem:
                dpg.set_value(self.input, str(shown))
        elif p.kind == "time":
            dpg.set_value(self.input, to_text(value))
        else:
            dpg.set_value(self.input, to_text(shown if p.kind == "str" else value))

    def flag(self, message: str | None) -> None:
        """Mark the field as invalid (message in its tooltip) or clear the mark."""
        self.error = message
        if self.themes is not None:
            dpg.bind_item_theme(self.input, self.themes.error_widget if message else 0)
        dpg.set_value(self.tooltip_error, message or "")
        dpg.configure_item(self.tooltip_error, show=bool(message))

    def set_text(self, text: str) -> None:
        """Type into the field (the file dialog, tests): as if the user had typed it."""
        if self.text_item is None:
            self._set_mode("text", self.value)
        dpg.set_value(self.text_item, text)
        self._edit_text(text)


def _speed(values) -> float:
    biggest = max([abs(float(v)) for v in values if isinstance(v, (int, float))] + [0.0])
    return 0.01 if biggest <= 2 else 0.1 if biggest <= 50 else 1.0


def _int_range(extra: dict) -> dict:
    return {k: (int(v) if k != "clamped" else v) for k, v in extra.items()}
