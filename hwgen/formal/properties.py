"""Stream-protocol properties, as Amaranth ``Assume``/``Assert`` statements.

The same rules hold on every ``amaranth.lib.stream`` interface; what differs is who is
responsible for them. On an input of the design they are assumptions about the environment,
on an output they are assertions about the design:

* **valid held**: once ``valid`` is high it stays high until the beat is taken (``ready``);
* **payload stable**: while a beat waits, its payload does not change.

:func:`packet_accounting` adds the two properties that relate inputs to outputs, with
*packets* as the unit: a stream with a ``last`` field carries packets ended by ``last``, any
other stream one packet per beat.

* **accounted**: no output beat without an input packet that is not answered yet (an input
  packet that has started counts, so designs may answer while their input still arrives);
* **answered**: while a complete input packet is unanswered, the design moves an output beat
  at least every ``bound`` cycles in which ``o.ready`` is high (a pipeline of latency ``L``
  answers a beat accepted in cycle ``t`` in cycle ``t + L``, so ``bound = L`` holds). Only
  cycles with ``o.ready`` high count: that is the fairness assumption on the consumer,
  which otherwise stalls any design forever.
"""
from amaranth import Module, Signal
from amaranth.hdl import Assert, Assume

__all__ = ["stream_rules", "packet_accounting", "is_packet_end"]


def stream_rules(m, port, *, check, name):
    """Add the valid-held and payload-stable rules for ``port`` (a stream interface).

    ``check`` is ``Assume`` for an input of the design and ``Assert`` for an output.
    """
    stalled = Signal(name=f"{name}_stalled")
    held = Signal.like(port.payload, name=f"{name}_held")
    m.d.sync += [stalled.eq(port.valid & ~port.ready), held.eq(port.payload)]
    m.d.comb += [
        check(~stalled | port.valid, f"{name}: valid dropped before the beat was taken"),
        check(~stalled | (port.payload.as_value() == held.as_value()),
              f"{name}: payload changed while the beat waited"),
    ]


def is_packet_end(port):
    """1 on a beat that ends a packet: its ``last`` field, or every beat without one."""
    fields = getattr(port.payload.shape(), "members", {})
    return port.payload.last if "last" in fields else 1


def packet_accounting(m, i, o, *, bound, max_open=254):
    """Relate the packets of input stream ``i`` to those of output stream ``o``.

    Returns the ``owed`` counter (input packets started and not yet answered) so callers can
    state more about it. ``max_open`` caps how many packets the environment keeps open, which
    only matters past that many cycles.
    """
    owed = Signal(range(max_open + 2), name="owed")
    input_open = Signal(name="input_open")
    waiting = Signal(range(bound + 1), name="waiting")
    started = i.valid & i.ready & ~input_open
    answered = o.valid & o.ready & is_packet_end(o)
    with m.If(i.valid & i.ready):
        m.d.sync += input_open.eq(~is_packet_end(i))
    m.d.sync += owed.eq(owed + started - answered)
    complete = Signal(name="complete")  # an input packet has fully arrived, unanswered
    m.d.comb += complete.eq(owed > input_open)
    with m.If(~complete | (o.valid & o.ready)):
        m.d.sync += waiting.eq(0)
    with m.Elif(o.ready & (waiting < bound)):
        m.d.sync += waiting.eq(waiting + 1)
    m.d.comb += [
        Assume(owed <= max_open),
        Assert(~o.valid | (owed != 0), "o: output beat without an input packet to answer"),
        Assert(waiting < bound, f"o: no output beat within {bound} ready cycles of a "
                                f"complete input packet"),
    ]
    return owed
