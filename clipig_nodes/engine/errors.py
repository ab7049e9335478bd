"""The one error type the engine raises for bad input (missing image, unknown model,
absent GPU, out of memory): its message is shown to the user as it is."""


class EngineError(RuntimeError):
    pass
