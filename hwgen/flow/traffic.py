"""Simulator-independent stream traffic: drive golden input beats, check golden output beats.

:class:`Traffic` decides, cycle by cycle, what every stream port is driven to and checks what
the design did, so the cocotb testbench (on the emitted Verilog) and the Amaranth-simulator
harness (:mod:`hwgen.flow.pysim`) are thin adapters around one checker:

* each input stream offers its next beat when its :class:`Backpressure` pattern says so and
  holds it, unchanged, until accepted; while idle it drives random garbage payload;
* each output stream is ready when its :class:`Backpressure` pattern says so;
* every stream, input and output, is held to the handshake rules by a :class:`StreamRules`;
* every output beat is compared bit-exactly, as an unpacked beat, with the next expected one;
* no handshake on any stream for ``stall_limit`` cycles fails as a hang, and after the last
  expected beat the outputs are watched for ``drain_cycles`` more cycles for extra beats.

Vectors may order input streams against each other with ``"order": {STREAM: [[beat,
OTHER, count], ...]}``: beat number ``beat`` of input ``STREAM`` is not offered before input
``OTHER`` has had ``count`` beats accepted (for example, data that must wait for the tables
it is decoded with).
"""
import random

from hwgen.flow.payload import pack, unpack

__all__ = ["Backpressure", "StreamRules", "Traffic", "TrafficError"]


class TrafficError(AssertionError):
    """The design's streams did not match the golden vectors or broke the handshake rules."""


def _differences(expected, got):
    return "\n".join(f"  {name}: expected {expected.get(name)}, got {got.get(name)}"
                     for name in sorted(set(expected) | set(got))
                     if expected.get(name) != got.get(name))


class StreamRules:
    """The handshake rules of one stream (those of :mod:`amaranth.lib.stream`).

    A producer that raises ``valid`` keeps it high, and keeps ``payload`` unchanged, until
    the cycle in which ``ready`` is high too. The design is the producer of its output
    streams; on its input streams the rules check the driver, so a replayed or hand-written
    input sequence cannot make a design look wrong (or right) by breaking them.

    Call :meth:`check` once per cycle with the values sampled at the clock edge.
    """

    def __init__(self, name, producer):
        self.name = name
        self.producer = producer
        self._stalled_payload = None

    def check(self, cycle, valid, ready, payload):
        stalled = self._stalled_payload
        if stalled is not None:
            if not valid:
                raise TrafficError(f"stream {self.name!r}: {self.producer} dropped valid at "
                                   f"cycle {cycle} before the beat offered at cycle "
                                   f"{stalled[0]} was accepted")
            if payload != stalled[1]:
                raise TrafficError(f"stream {self.name!r}: {self.producer} changed the payload "
                                   f"at cycle {cycle} while the beat offered at cycle "
                                   f"{stalled[0]} waited for ready")
        if valid and not ready:
            self._stalled_payload = (stalled[0] if stalled else cycle, payload)
        else:
            self._stalled_payload = None


class Backpressure:
    """Per-cycle on/off decisions for one stream: ``valid`` offers on an input, ``ready``
    on an output.

    At ``prob`` 1 it is always on. Below 1 it is on with probability ``prob`` per cycle,
    interrupted now and then (``switch_prob`` per cycle) by a long stall (off for
    ``stall_cycles`` cycles, a range) or a burst (on for ``burst_cycles`` cycles), so a
    design sees both single-cycle gaps and long runs of each kind.
    """

    def __init__(self, rng, prob, *, switch_prob=0.02, stall_cycles=(16, 64),
                 burst_cycles=(8, 32)):
        self._rng = rng
        self._prob = prob
        self._switch_prob = switch_prob
        self._stall_cycles = stall_cycles
        self._burst_cycles = burst_cycles
        self._run_left = 0
        self._run_value = True

    def next(self):
        if self._prob >= 1.0:
            return True
        if self._run_left == 0 and self._rng.random() < self._switch_prob:
            self._run_value = self._rng.random() < 0.5
            self._run_left = self._rng.randint(
                *(self._burst_cycles if self._run_value else self._stall_cycles))
        if self._run_left:
            self._run_left -= 1
            return self._run_value
        return self._rng.random() < self._prob


class Traffic:
    """Per-cycle driver and checker for the streams described by a manifest.

    Call :meth:`drive` once per cycle before the clock edge and apply the returned port
    values; then call :meth:`observe` with the values of every port in :attr:`sampled_ports`
    as they were at the edge. Stop when :attr:`finished` is true.
    """

    def __init__(self, streams, vectors, *, valid_prob=1.0, ready_prob=1.0, seed=0,
                 stall_limit=2000, drain_cycles=32):
        self._rng = random.Random(seed)
        self._stall_limit = stall_limit
        self._drain_cycles = drain_cycles
        self._inputs = {name: info for name, info in streams.items() if info["dir"] == "in"}
        self._outputs = {name: info for name, info in streams.items() if info["dir"] == "out"}
        for name in vectors["inputs"]:
            if name not in self._inputs:
                raise ValueError(f"vectors drive stream {name!r}, which is not an input "
                                 f"(inputs: {sorted(self._inputs)})")
        self._pending = {name: [pack(self._inputs[name]["fields"], beat)
                                for beat in vectors["inputs"].get(name, [])]
                         for name in self._inputs}
        self._expected = {name: list(vectors["outputs"].get(name, [])) for name in self._outputs}
        self._gates = {name: {} for name in self._inputs}
        for name, gates in vectors.get("order", {}).items():
            for beat, other, count in gates:
                if name not in self._inputs or other not in self._inputs:
                    raise ValueError(f"order gates stream {name!r} on {other!r}; both must be "
                                     f"inputs (inputs: {sorted(self._inputs)})")
                self._gates[name][beat] = (other, count)
        self._patterns = {name: Backpressure(self._rng, valid_prob) for name in self._inputs}
        self._patterns.update({name: Backpressure(self._rng, ready_prob)
                               for name in self._outputs})
        self._rules = {name: StreamRules(name, "the testbench") for name in self._inputs}
        self._rules.update({name: StreamRules(name, "the design") for name in self._outputs})
        self._offering = {name: False for name in self._inputs}
        self.cycle = 0
        self._idle_cycles = 0
        self._drained = 0
        self.received = {name: [] for name in self._outputs}
        self.accept_cycles = {name: [] for name in self._inputs}
        self.emit_cycles = {name: [] for name in self._outputs}

    @property
    def sampled_ports(self):
        """Port names whose values :meth:`observe` needs."""
        return [f"{name}__{port}" for name in (*self._inputs, *self._outputs)
                for port in ("valid", "ready", "payload")]

    def _all_received(self):
        return all(len(self.received[name]) == len(self._expected[name]) for name in self._outputs)

    def _all_sent(self):
        return not any(self._pending.values())

    @property
    def finished(self):
        return self._all_sent() and self._all_received() and self._drained >= self._drain_cycles

    def drive(self):
        """Port values to apply for the coming cycle."""
        values = {}
        for name, info in self._inputs.items():
            offer = self._patterns[name].next()
            if not self._offering[name] and self._pending[name] and self._gate_open(name):
                self._offering[name] = offer
            values[f"{name}__valid"] = int(self._offering[name])
            values[f"{name}__payload"] = (self._pending[name][0] if self._offering[name]
                                          else self._rng.getrandbits(info["payload_width"]))
        draining = self._all_received()
        for name in self._outputs:
            values[f"{name}__ready"] = int(self._patterns[name].next() or draining)
        return values

    def _gate_open(self, name):
        gate = self._gates[name].get(len(self.accept_cycles[name]))
        return gate is None or len(self.accept_cycles[gate[0]]) >= gate[1]

    def observe(self, sampled):
        """Check the cycle that just ended: handshake rules on every stream, output beats
        against the golden vectors, and progress."""
        for name, rules in self._rules.items():
            rules.check(self.cycle, sampled[f"{name}__valid"], sampled[f"{name}__ready"],
                        int(sampled[f"{name}__payload"]))
        progress = False
        for name in self._inputs:
            if sampled[f"{name}__valid"] and sampled[f"{name}__ready"]:
                self._pending[name].pop(0)
                self._offering[name] = False
                self.accept_cycles[name].append(self.cycle)
                progress = True
        for name, info in self._outputs.items():
            if not (sampled[f"{name}__valid"] and sampled[f"{name}__ready"]):
                continue
            progress = True
            beat = unpack(info["fields"], int(sampled[f"{name}__payload"]))
            index = len(self.received[name])
            if index >= len(self._expected[name]):
                raise TrafficError(f"stream {name!r}: unexpected extra beat {index} at cycle "
                                   f"{self.cycle} (expected {len(self._expected[name])}): {beat}")
            expected = self._expected[name][index]
            if beat != expected:
                raise TrafficError(f"stream {name!r} beat {index} (cycle {self.cycle}) differs "
                                   f"from the golden model:\n{_differences(expected, beat)}")
            self.received[name].append(beat)
            self.emit_cycles[name].append(self.cycle)
        self.cycle += 1
        if self._all_sent() and self._all_received():
            self._drained += 1
            return
        self._idle_cycles = 0 if progress else self._idle_cycles + 1
        if self._idle_cycles > self._stall_limit:
            counts = ", ".join(f"{name}: {len(self.received[name])}/{len(self._expected[name])}"
                               for name in self._outputs)
            left = ", ".join(f"{name}: {len(beats)} unsent" for name, beats in self._pending.items())
            raise TrafficError(f"no handshake on any stream for {self._stall_limit} cycles "
                               f"(hang) at cycle {self.cycle}; received {counts}; {left}")

    def stats(self):
        """Cycle counts of the run, for throughput and latency figures."""
        return {
            "cycles": self.cycle - self._drained,
            "accepted": {name: len(cycles) for name, cycles in self.accept_cycles.items()},
            "emitted": {name: len(cycles) for name, cycles in self.emit_cycles.items()},
            "first_accept": {name: cycles[0] if cycles else None
                             for name, cycles in self.accept_cycles.items()},
            "last_accept": {name: cycles[-1] if cycles else None
                            for name, cycles in self.accept_cycles.items()},
            "first_emit": {name: cycles[0] if cycles else None
                           for name, cycles in self.emit_cycles.items()},
            "last_emit": {name: cycles[-1] if cycles else None
                          for name, cycles in self.emit_cycles.items()},
        }
