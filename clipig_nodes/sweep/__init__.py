"""Sweeps: one graph rendered with many input values (prompts, seeds, sizes), one image each.

    from clipig_nodes.sweep import sweep
    result = sweep("graphs/strawberries.graph.yaml", "out/",
                   {"prompt": ["a cat", "a dog"], "seed": range(1, 5)}, epochs=50, device="cpu")
    result.jobs[0].inputs, result.jobs[0].image      # the values and the PIL image
    result.contact_sheet                             # out/contact-sheet.png

`python main.py sweep` is the same from the command line. Importing this package does not
import torch; running a sweep does.
"""

from .api import Progress, SweepInterrupted, SweepJob, SweepResult, sweep

__all__ = ["Progress", "SweepInterrupted", "SweepJob", "SweepResult", "sweep"]
