"""Dear PyGui views over the graph model and the engine's run API.

The GUI holds no training logic: edits are `graph.commands` executed through a
History, training is an `engine.Run` on a worker thread (gui.runner), and every
panel only renders what the model and the run report. Only this package imports
dearpygui.
"""
