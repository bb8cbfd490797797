"""End to end: the host driver talks to wrapped tops in Verilator through the bit-level UART."""
import json

import pytest
from amaranth.back import verilog as amaranth_verilog

from hwgen.board import protocol
from hwgen.board.bridge import HostBridge
from hwgen.config import load
from hwgen.flow import sim, verilog
from tests.conftest import ROOT

# A fast simulated line: 4 clock cycles per bit; the timeout is three characters.
DIVISOR = 4
TIMEOUT = 30 * DIVISOR
# Random transactions after each kind's directed cases (which dominate the run time).
VECTORS = 4


def run_host_session(design, tmp_path, *, count=VECTORS, seed=3):
    """Wrap ``design``, build it with Verilator and run ``hwgen.testbenches.uart_tb`` on it."""
    top = design.build()
    manifest = verilog.manifest(design, top)
    bridge = HostBridge(top, divisor=DIVISOR, timeout=TIMEOUT,
                        ident=protocol.ident(design.name, design.kind.name, manifest["params"]))
    name = f"{design.name}_host"
    source = tmp_path / f"{name}.v"
    source.write_text(amaranth_verilog.convert(bridge, name=name, emit_src=False))
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "vectors.json").write_text(
        json.dumps(design.kind.vectors(design.params, count, seed)))

    build_dir = tmp_path / "sim_build"
    build_dir.mkdir()
    sim.run_testbench(
        source, top=name, build_dir=build_dir, test_module=sim.testbench_module("uart_tb"),
        env={"HWGEN_MANIFEST": str(tmp_path / "manifest.json"),
             "HWGEN_VECTORS": str(tmp_path / "vectors.json"),
             "HWGEN_DIVISOR": str(DIVISOR), "HWGEN_TIMEOUT": str(TIMEOUT)})


@pytest.mark.parametrize("config", [
    # A plain kind, one result per input; the tops below cover the same bridge.
    pytest.param("modred_kyber_auto", marks=pytest.mark.slow),
    "default",                    # llm_tile_small: the llm_tile command model
    "llm_tile_runtime",           # Huffman tables loaded over the UART (LOAD_T), pipelined
    "llm_tile_dfloat",            # DFloat11-compressed bf16 weights into a bf16 engine
    "ntt_falcon16_montgomery",    # ntt_tile: forward and inverse transforms
])
def test_host_driver_through_uart(config, tmp_path):
    run_host_session(load(ROOT / "designs" / f"{config}.yaml"), tmp_path)
