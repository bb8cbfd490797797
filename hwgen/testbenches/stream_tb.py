"""cocotb testbench for any hwgen design whose behaviour is a stream of golden vectors.

It reads the manifest (ports and payload fields) and the vectors file that
:mod:`hwgen.flow.sim` wrote, and runs :class:`hwgen.flow.traffic.Traffic` on the emitted
Verilog twice: with random valid and ready gaps, long stalls and bursts on every stream, and
at full rate. Both runs hold every stream to the handshake rules (valid held until ready,
payload stable while waiting). Each test records its cycle counts in the stats file for
throughput figures.

Environment: ``HWGEN_MANIFEST``, ``HWGEN_VECTORS``, ``HWGEN_STATS``, ``HWGEN_SEED``,
``HWGEN_VALID_PROB``, ``HWGEN_READY_PROB``, ``HWGEN_STALL_LIMIT``.
"""
import json
import os
import pathlib

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from hwgen.flow.traffic import Traffic


def _read(handle):
    value = handle.value
    return value.to_unsigned() if hasattr(value, "to_unsigned") else int(value)


async def _run(dut, test_name, *, valid_prob, ready_prob):
    manifest = json.loads(pathlib.Path(os.environ["HWGEN_MANIFEST"]).read_text())
    vectors = json.loads(pathlib.Path(os.environ["HWGEN_VECTORS"]).read_text())
    # A design may legitimately stay silent for its declared latency (an NTT computing), so
    # the hang detector never fires sooner than that.
    latency = manifest.get("latency_cycles", 8)
    traffic = Traffic(manifest["streams"], vectors, valid_prob=valid_prob,
                      ready_prob=ready_prob, seed=int(os.environ.get("HWGEN_SEED", "0")),
                      stall_limit=max(int(os.environ.get("HWGEN_STALL_LIMIT", "2000")),
                                      2 * latency + 16),
                      drain_cycles=2 * latency + 16)
    handles = {port: getattr(dut, port) for port in manifest["ports"]}

    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    for port, info in manifest["ports"].items():
        if port not in ("clk", "rst") and info["dir"] == "in":
            handles[port].value = 0
    for _ in range(3):
        await RisingEdge(dut.clk)
    dut.rst.value = 0

    while not traffic.finished:
        await FallingEdge(dut.clk)
        for port, value in traffic.drive().items():
            handles[port].value = value
        await ReadOnly()
        traffic.observe({port: _read(handles[port]) for port in traffic.sampled_ports})

    stats_path = pathlib.Path(os.environ["HWGEN_STATS"])
    stats = json.loads(stats_path.read_text()) if stats_path.exists() else {}
    stats[test_name] = traffic.stats()
    stats_path.write_text(json.dumps(stats, indent=2))


@cocotb.test()
async def random_gaps(dut):
    """Golden vectors under random valid and ready gaps, stalls and bursts on every stream."""
    await _run(dut, "random_gaps",
               valid_prob=float(os.environ.get("HWGEN_VALID_PROB", "0.7")),
               ready_prob=float(os.environ.get("HWGEN_READY_PROB", "0.6")))


@cocotb.test()
async def full_rate(dut):
    """Golden vectors with every input always offered and every output always ready."""
    await _run(dut, "full_rate", valid_prob=1.0, ready_prob=1.0)
