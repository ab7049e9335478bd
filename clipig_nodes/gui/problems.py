"""The problems list: every validation error and warning of the graph; clicking one
shows its node (brought into view and highlighted)."""

from __future__ import annotations

from typing import Callable

import dearpygui.dearpygui as dpg

from ..problems import Problem

ERROR_COLOR = (235, 95, 95)
WARNING_COLOR = (235, 175, 60)


class ProblemsPanel:
    def __init__(self, parent, on_select: Callable[[Problem], None]):
        self.on_select = on_select
        self.problems: list[Problem] = []
        self.rows: list[int] = []
        with dpg.group(parent=parent):
            self.header = dpg.add_text("Problems", color=(170, 175, 190))
            with dpg.table(header_row=False, policy=dpg.mvTable_SizingStretchProp,
                           row_background=True, scrollY=True, height=-1,
                           borders_innerH=False) as self.table:
                dpg.add_table_column(width_fixed=True, init_width_or_weight=62)
                dpg.add_table_column(width_fixed=True, init_width_or_weight=150)
                dpg.add_table_column(width_stretch=True)

    def show(self, problems: list[Problem]) -> None:
        problems = sorted(problems, key=lambda p: (not p.is_error,))
        if problems == self.problems:
            return
        self.problems = problems
        for row in self.rows:
            dpg.delete_item(row)
        self.rows = []
        errors = sum(p.is_error for p in problems)
        warnings = len(problems) - errors
        if not problems:
            dpg.set_value(self.header, "Problems: none, the graph is valid")
            dpg.configure_item(self.header, color=(120, 210, 120))
        else:
            dpg.set_value(self.header, f"Problems: {errors} error" + ("s" if errors != 1 else "")
                          + f", {warnings} warning" + ("s" if warnings != 1 else "")
                          + "  (click one to show its node)")
            dpg.configure_item(self.header, color=ERROR_COLOR if errors else WARNING_COLOR)
        for index, problem in enumerate(problems):
            color = ERROR_COLOR if problem.is_error else WARNING_COLOR
            with dpg.table_row(parent=self.table) as row:
                dpg.add_selectable(label="error" if problem.is_error else "warning",
                                   span_columns=True, user_data=index, callback=self._clicked)
                where = problem.node or ""
                if problem.param:
                    where += f".{problem.param}" if where else problem.param
                dpg.add_text(where or "graph", color=(200, 200, 210))
                dpg.add_text(problem.message, color=color)
            self.rows.append(row)

    def _clicked(self, sender, app_data, user_data) -> None:
        dpg.set_value(sender, False)
        self.select(user_data)

    def select(self, index: int) -> None:
        if 0 <= index < len(self.problems):
            self.on_select(self.problems[index])
