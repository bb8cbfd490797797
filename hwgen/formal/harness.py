"""Harnesses: the design under proof wrapped with its properties, ready for SymbiYosys.

A harness is a component whose ports are the free inputs of the proof. The solver picks
their values in every cycle; ``Assume`` statements rule out what no legal environment does.
Every harness holds the design as its submodule ``core``, so a counterexample can be read
back at the design's own ports (:mod:`hwgen.formal.trace`).
"""
from amaranth import Module, ResetSignal, Signal, Value
from amaranth.hdl import Assert, Assume
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In

from hwgen.formal.properties import packet_accounting, stream_rules

__all__ = ["CORE", "PROBE", "stream_members", "probe_ports", "assume_no_reset", "DesignHarness",
           "StreamHarness", "LockstepHarness"]

CORE = "core"
# Prefix of the top-level copies of the design's ports (see :func:`probe_ports`).
PROBE = "dut__"


def stream_members(component):
    """``(inputs, outputs)``: names of ``component``'s stream members by direction."""
    inputs, outputs = [], []
    for name, member in component.signature.members.items():
        if member.is_signature and isinstance(member.signature, stream.Signature):
            (inputs if member.flow == wiring.In else outputs).append(name)
    return inputs, outputs


def probe_ports(m, core):
    """Copy every port of ``core`` to a top-level signal ``dut__PORT``.

    Flattening renames a submodule's wires; top-level names survive, so these are what a
    counterexample trace is read from."""
    for path, _member, value in core.signature.flatten(core):
        port = "__".join(map(str, path))
        probe = Signal(len(Value.cast(value)), name=f"{PROBE}{port}")
        m.d.comb += probe.eq(value)


def assume_no_reset(m):
    """Registers start at their reset values, so the proof needs no reset pulse; keeping
    reset low also keeps the harness's own checkers from being cleared mid-proof."""
    m.d.comb += Assume(~ResetSignal())


class DesignHarness(wiring.Component):
    """A harness with the design's own signature, so that its ports are the design's ports;
    subclasses state the properties in :meth:`check`."""

    def __init__(self, core):
        self._core = core
        super().__init__(dict(core.signature.members))

    def elaborate(self, platform):
        m = Module()
        m.submodules[CORE] = core = self._core
        wiring.connect(m, wiring.flipped(self), core)
        assume_no_reset(m)
        probe_ports(m, core)
        self.check(m, core)
        return m

    def check(self, m, core):
        """Add the properties about ``core`` to ``m``."""
        raise NotImplementedError  # pragma: no cover - abstract


class StreamHarness(DesignHarness):
    """The design with the stream rules assumed on its inputs and asserted on its outputs,
    and, for a design with one input and one output stream, packet accounting with the
    answer bound ``bound`` (``None``: no bound is checked).
    """

    def __init__(self, core, *, bound):
        self._bound = bound
        super().__init__(core)

    @property
    def bound(self):
        return self._bound

    def check(self, m, core):
        inputs, outputs = stream_members(core)
        for name in inputs:
            stream_rules(m, getattr(core, name), check=Assume, name=name)
        for name in outputs:
            stream_rules(m, getattr(core, name), check=Assert, name=name)
        if len(inputs) == 1 and len(outputs) == 1 and self._bound is not None:
            packet_accounting(m, getattr(core, inputs[0]), getattr(core, outputs[0]),
                              bound=self._bound)


class LockstepHarness(wiring.Component):
    """Two designs with the same streams fed the same input beats, their output beats
    compared one by one: ``core`` ≡ ``reference`` on every input sequence.

    Each input beat from the free stream ``i`` is offered to both designs and taken from the
    environment once both have accepted it, so the two may run at different rates. Output
    beats leave both designs together, when both have one and the free input ``take`` is
    high (backpressure), and must be equal.

    ``compare(payload)``, if given, is what of an output payload must be equal (default: all
    of it), for outputs with fields whose value does not matter in some beats.

    Members
    -------
    i : ``In(<the designs' input stream>)``
    take : ``In(1)``
    """

    def __init__(self, core, reference, *, compare=None):
        if dict(core.signature.members) != dict(reference.signature.members):
            raise ValueError(f"Lockstep designs must have the same signature, not "
                             f"{core.signature!r} and {reference.signature!r}")
        inputs, outputs = stream_members(core)
        if len(inputs) != 1 or len(outputs) != 1:
            raise ValueError(f"Lockstep designs must have one input and one output stream, "
                             f"not {inputs} and {outputs}")
        self._core, self._reference = core, reference
        self._input, self._output = inputs[0], outputs[0]
        self._compare = compare or (lambda payload: payload.as_value())
        super().__init__({"i": core.signature.members[self._input], "take": In(1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules[CORE] = core = self._core
        m.submodules.reference = reference = self._reference
        assume_no_reset(m)
        probe_ports(m, core)
        stream_rules(m, self.i, check=Assume, name="i")
        designs = (getattr(core, self._input), getattr(reference, self._input))
        taken = [Signal(name=f"taken_{index}") for index in range(2)]
        done = []
        for port, flag in zip(designs, taken):
            m.d.comb += [port.valid.eq(self.i.valid & ~flag), port.payload.eq(self.i.payload)]
            done.append(flag | (port.valid & port.ready))
        m.d.comb += self.i.ready.eq(done[0] & done[1])
        for port, flag, finished in zip(designs, taken, done):
            m.d.sync += flag.eq(finished & ~(self.i.valid & self.i.ready))

        a, b = getattr(core, self._output), getattr(reference, self._output)
        move = a.valid & b.valid & self.take
        m.d.comb += [a.ready.eq(move), b.ready.eq(move),
                     Assert(~move | (self._compare(a.payload) == self._compare(b.payload)),
                            "o: output beats differ from the reference design's")]
        return m
