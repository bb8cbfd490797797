"""cocotb testbench that replays a counterexample of ``hwgen prove`` (:mod:`hwgen.formal`) on
the emitted Verilog.

It drives the design's inputs cycle by cycle as the replay file lists them (after a reset,
which puts the design where the proof started) and checks, independently of the proof's
harness, what the proof asserted: the handshake rules on every stream, the output beats the
golden model owes and packet accounting with the answer bound where the replay file lists
them. The test fails on the first violation.

Environment: ``HWGEN_MANIFEST``, ``HWGEN_REPLAY``.
"""
import json
import os
import pathlib

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from hwgen.flow.payload import unpack
from hwgen.flow.traffic import StreamRules


def _read(handle):
    value = handle.value
    return value.to_unsigned() if hasattr(value, "to_unsigned") else int(value)


class Checker:
    """The proof's properties over sampled port values, one :meth:`observe` per cycle: the
    handshake rules on every stream (:class:`~hwgen.flow.traffic.StreamRules`), the golden
    output beats where the replay file lists them, and packet accounting with the answer
    bound (the twin of :func:`hwgen.formal.properties.packet_accounting`)."""

    def __init__(self, manifest, expected, bound):
        streams = manifest["streams"]
        self._inputs = [name for name, info in streams.items() if info["dir"] == "in"]
        self._outputs = {name: info for name, info in streams.items() if info["dir"] == "out"}
        self._rules = [StreamRules(name, "the replay" if info["dir"] == "in" else "the design")
                       for name, info in streams.items()]
        self._expected = {name: list(beats) for name, beats in (expected or {}).items()}
        self._received = {name: [] for name in self._outputs}
        self._fields = {name: info["fields"] for name, info in streams.items()}
        self._bound = bound if len(self._inputs) == len(self._outputs) == 1 else None
        self._owed = self._waiting = 0
        self._input_open = False
        self.cycle = 0

    def _ends_packet(self, name, payload):
        fields = self._fields[name]
        return "last" not in fields or unpack(fields, payload)["last"]

    def observe(self, sampled):
        for rules in self._rules:
            rules.check(self.cycle, *(sampled[f"{rules.name}__{port}"]
                                      for port in ("valid", "ready", "payload")))
        for name in self._outputs:
            if name in self._expected and sampled[f"{name}__valid"] and sampled[f"{name}__ready"]:
                beat = unpack(self._fields[name], sampled[f"{name}__payload"])
                index = len(self._received[name])
                assert index < len(self._expected[name]), \
                    f"cycle {self.cycle}: {name}: beat {index} has no input to answer: {beat}"
                assert beat == self._expected[name][index], \
                    f"cycle {self.cycle}: {name}: beat {index} is {beat}, the golden model " \
                    f"says {self._expected[name][index]}"
                self._received[name].append(beat)
        if self._bound:
            self._account(sampled)
        self.cycle += 1

    def _account(self, sampled):
        (i,), (o,) = self._inputs, self._outputs
        o_valid, o_ready = sampled[f"{o}__valid"], sampled[f"{o}__ready"]
        assert not o_valid or self._owed, \
            f"cycle {self.cycle}: {o}: output beat without an input packet to answer"
        assert self._waiting < self._bound, \
            f"cycle {self.cycle}: {o}: no output beat within {self._bound} ready cycles of a " \
            f"complete input packet"
        if self._owed <= self._input_open or (o_valid and o_ready):
            self._waiting = 0
        elif o_ready:
            self._waiting += 1
        if o_valid and o_ready and self._ends_packet(o, sampled[f"{o}__payload"]):
            self._owed -= 1
        if sampled[f"{i}__valid"] and sampled[f"{i}__ready"]:
            self._owed += not self._input_open
            self._input_open = not self._ends_packet(i, sampled[f"{i}__payload"])


@cocotb.test()
async def replay(dut):
    """The counterexample's input sequence, checked against the properties it broke."""
    manifest = json.loads(pathlib.Path(os.environ["HWGEN_MANIFEST"]).read_text())
    document = json.loads(pathlib.Path(os.environ["HWGEN_REPLAY"]).read_text())
    checker = Checker(manifest, document.get("expected"), document.get("answer_bound"))
    ports = {port: getattr(dut, port) for port in manifest["ports"]}
    sampled_ports = [port for port, info in manifest["ports"].items()
                     if port.endswith(("__valid", "__ready", "__payload"))]

    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    for port in document["cycles"][0]:
        ports[port].value = 0
    for _ in range(3):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    for cycle in document["cycles"]:
        await FallingEdge(dut.clk)
        for port, value in cycle.items():
            ports[port].value = value
        await ReadOnly()
        checker.observe({port: _read(ports[port]) for port in sampled_ports})
