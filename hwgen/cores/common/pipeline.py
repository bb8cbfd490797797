"""Pipelines whose registers all load together: one ``advance`` (the output is free) moves
every stage, so throughput stays one beat per cycle and backpressure stalls the whole pipe."""
from amaranth import Signal, Value

__all__ = ["Stages"]


def _label(key):
    return "_".join(map(str, key)) if isinstance(key, tuple) else str(key)


class Stages:
    """Pipeline registers of module ``m`` that load when ``advance`` is high.

    ``side`` is what travels with every beat (``valid`` among it): each :meth:`register`
    adds one stage to it and to the data given, so values of one beat stay aligned however
    many stages a part of the datapath adds. ``count`` is the number of stages so far.
    Registers nothing reads are removed by synthesis, so registering a whole structure costs
    only what later stages use.
    """

    def __init__(self, m, advance, side):
        self._m = m
        self.advance = advance
        self.side = side
        self.count = 0

    def _register(self, value, name):
        if isinstance(value, dict):
            return {key: self._register(item, f"{name}_{_label(key)}")
                    for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._register(item, f"{name}_{index}") for index, item in enumerate(value)]
        value = Value.cast(value)
        register = Signal(value.shape(), name=name)
        with self._m.If(self.advance):
            self._m.d.sync += register.eq(value)
        return register

    def register(self, data, name):
        """``data`` (a signal, or lists and dicts of them) one stage later, with the side."""
        self.count += 1
        self.side = self._register(self.side, f"{name}_side")
        return self._register(data, name)

    def hold(self, data, name):
        """``data`` one stage later, in a stage that a :meth:`register` call made: for data
        moving alongside it (neither ``side`` nor ``count`` changes)."""
        return self._register(data, name)

    def register_if(self, condition, data, name):
        """:meth:`register` when ``condition``, else ``data`` unchanged (a pipeline knob)."""
        return self.register(data, name) if condition else data
