"""cocotb testbench that replays a counterexample of ``hwgen prove`` on the emitted Verilog.

It drives the design's inputs cycle by cycle as the replay file lists them (after a reset,
which puts the design where the proof started) and checks, independently of the proof's
harness, what the proof asserted: the stream rules on the outputs, packet accounting and
the answer bound, and, where the replay file lists them, the output beats the golden model
owes. The test fails on the first violation.

Environment: ``HWGEN_MANIFEST``, ``HWGEN_REPLAY``.
"""
import json
import os
import pathlib

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from hwgen.flow.payload import unpack


def _read(handle):
    value = handle.value
    return value.to_unsigned() if hasattr(value, "to_unsigned") else int(value)


class Checker:
    """The proof's properties over sampled port values, one :meth:`observe` per cycle."""

    def __init__(self, manifest, expected, bound):
        streams = manifest["streams"]
        self._inputs = [name for name, info in streams.items() if info["dir"] == "in"]
        self._outputs = {name: info for name, info in streams.items() if info["dir"] == "out"}
        self._expected = {name: list(beats) for name, beats in (expected or {}).items()}
        self._received = {name: [] for name in self._outputs}
        self._stalled = {}
        self._accounting = len(self._inputs) == len(self._outputs) == 1 and bound
        self._bound = bound
        self._owed = self._waiting = 0
        self._input_open = False
        self.cycle = 0

    def _packet_end(self, stream, beat):
        return beat.get("last", 1)

    def observe(self, sampled):
        for name, info in self._outputs.items():
            valid, ready = sampled[f"{name}__valid"], sampled[f"{name}__ready"]
            payload = sampled[f"{name}__payload"]
            held = self._stalled.get(name)
            if held is not None:
                assert valid, f"cycle {self.cycle}: {name}: valid dropped before the beat " \
                              f"was taken"
                assert payload == held, f"cycle {self.cycle}: {name}: payload changed while " \
                                        f"the beat waited"
            self._stalled[name] = payload if valid and not ready else None
            if valid and ready and name in self._expected:
                beat = unpack(info["fields"], payload)
                index = len(self._received[name])
                assert index < len(self._expected[name]), \
                    f"cycle {self.cycle}: {name}: beat {index} has no input to answer: {beat}"
                assert beat == self._expected[name][index], \
                    f"cycle {self.cycle}: {name}: beat {index} is {beat}, the golden model " \
                    f"says {self._expected[name][index]}"
                self._received[name].append(beat)
        if self._accounting:
            self._account(sampled)
        self.cycle += 1

    def _account(self, sampled):
        (i,), (o, info) = self._inputs, next(iter(self._outputs.items()))
        manifest_fields = info["fields"]
        o_valid, o_ready = sampled[f"{o}__valid"], sampled[f"{o}__ready"]
        assert not o_valid or self._owed, \
            f"cycle {self.cycle}: {o}: output beat without an input packet to answer"
        assert self._waiting < self._bound, \
            f"cycle {self.cycle}: {o}: no output beat within {self._bound} ready cycles of a " \
            f"complete input packet"
        complete = self._owed > self._input_open
        if not complete or (o_valid and o_ready):
            self._waiting = 0
        elif o_ready:
            self._waiting += 1
        if o_valid and o_ready and ("last" not in manifest_fields or
                                    unpack(manifest_fields, sampled[f"{o}__payload"])["last"]):
            self._owed -= 1
        if sampled[f"{i}__valid"] and sampled[f"{i}__ready"]:
            self._owed += not self._input_open
            self._input_open = not sampled.get(f"{i}__last", 1)


@cocotb.test()
async def replay(dut):
    """The counterexample's input sequence, checked against the properties it broke."""
    manifest = json.loads(pathlib.Path(os.environ["HWGEN_MANIFEST"]).read_text())
    document = json.loads(pathlib.Path(os.environ["HWGEN_REPLAY"]).read_text())
    checker = Checker(manifest, document.get("expected"), manifest.get("latency_cycles"))
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
        sampled = {port: _read(ports[port]) for port in sampled_ports}
        for name, info in manifest["streams"].items():
            if info["dir"] == "in" and "last" in info["fields"]:
                sampled[f"{name}__last"] = unpack(info["fields"], sampled[f"{name}__payload"])["last"]
        checker.observe(sampled)
