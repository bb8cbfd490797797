"""Yosys area reports and nextpnr placement on small designs, for every target."""
import json
import re

import pytest

from hwgen.config import from_mapping
from hwgen.flow import hierarchy, measure, pnr, synth, tools, verilog

# One lane: nothing repeats, so the design is synthesized flat.
TINY = {"name": "tiny_dot", "kind": "bitserial_dot",
        "params": {"lanes": 1, "weight_bits": 2, "group_size": 2, "max_len": 16}}
# One real multiplier per lane: needs DSP blocks where the device has them.
MULTIPLYING = {"name": "tiny_mul", "kind": "bitparallel_dot",
               "params": {"lanes": 1, "weight_bits": 8, "group_size": 1, "max_len": 16}}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    design = from_mapping(TINY)
    return design, verilog.emit(design, root / "build"), root / "reports"


@pytest.mark.parametrize("target", synth.TARGETS)
def test_synthesis_reports_area_for_every_target(tiny, target):
    design, emitted, reports = tiny
    report = synth.synthesize(design, emitted, target, reports_dir=reports)
    assert json.loads(synth.report_path(reports, "tiny_dot", target).read_text()) == report
    assert report["params"] == design.params.to_dict()
    area = report["area"]
    if target == "generic":
        assert area["ge"] == area["transistors"] / 4 > 100
    else:
        assert area["lut4"] > 10 and area["ff"] > 10
    table = synth.render_markdown([report])
    assert f"**{target}**" in table and "| tiny_dot |" in table


def test_generic_report_records_its_bounded_abc_script(tiny):
    design, emitted, reports = tiny
    report = synth.synthesize(design, emitted, "generic", reports_dir=reports)
    script = report["script"]
    assert script["yosys"] == synth.script("generic", "tiny_dot")
    # Both ABC passes read the script whose SAT sweep is bounded.
    assert sum("-script generic.abc" in line for line in script["yosys"]) == 2
    assert "&fraig -x -C " in script["generic.abc"]


def test_cache_key_depends_on_the_abc_script(monkeypatch):
    key = measure.cache_key("module m; endmodule", "generic", "m")
    assert key == measure.cache_key("module m; endmodule", "generic", "m")
    monkeypatch.setattr(synth, "script_files", lambda target: {"generic.abc": "strash; &put"})
    assert measure.cache_key("module m; endmodule", "generic", "m") != key


def test_synthesis_that_runs_too_long_names_the_target(tiny):
    design, emitted, _ = tiny
    with pytest.raises(tools.ToolTimeout, match=r"timed out after 0.01 s on ice40"):
        synth.run_synthesis(design, emitted, "ice40", timeout=0.01)


@pytest.mark.parametrize("target", list(pnr.DEVICES))
def test_place_and_route_measures_fmax_and_utilization(tiny, target):
    design, emitted, reports = tiny
    report = pnr.place_and_route(design, emitted, target, seeds=2, reports_dir=reports)
    placed = report["pnr"]
    assert placed["device"] == f"{target}-{pnr.DEFAULT_DEVICE[target]}"
    assert len(placed["fmax_by_seed"]) == 2 and placed["fmax_mhz"] > 10
    assert placed["fmax_best_mhz"] == max(placed["fmax_by_seed"]) >= placed["fmax_mhz"]
    assert placed["meets_target"] == (placed["fmax_mhz"] >= 100)
    assert placed["scope"] == "design"
    # The critical path is named by the registers at its ends, found in the netlist.
    path = placed["critical_path"]
    assert re.fullmatch(r"[\w.$]+\[\d+\]", path["from"]) and "(cell)" not in path["to"]
    assert path["delay_ns"] > 0 and path["logic_levels"] >= 1
    assert placed["utilization"] and placed["summary"]
    if target == "ice40":
        manifest = json.loads(emitted.manifest.read_text())
        assert placed["harness_ff"] == sum(port["width"] for name, port in
                                           manifest["ports"].items() if name != "clk")
    else:
        assert placed["out_of_context"]
    # A later synth run keeps the placement section of the same design.
    again = synth.synthesize(design, emitted, target, reports_dir=reports)
    assert again["pnr"] == placed
    table = synth.render_markdown([again])
    assert "Fmax MHz (median, best)" in table and f"critical path {path['from']} → " in table


def test_multipliers_move_to_logic_on_a_device_without_dsp(tmp_path):
    design = from_mapping(MULTIPLYING)
    emitted = verilog.emit(design, tmp_path / "build")
    report = pnr.place_and_route(design, emitted, "ice40", device="hx8k",
                                 reports_dir=tmp_path / "reports")
    assert report["area"]["dsp"] >= 1
    assert report["pnr"]["multipliers_in_logic"].endswith("hx8k has 0")
    assert report["pnr"]["fmax_mhz"] > 0


TABLES = {"name": "tables", "kind": "ternary_lut",
          "params": {"mu": 2, "n_tables": 2, "lanes": 2, "act_type": "int", "act_bits": 4,
                     "weight_format": "key", "max_len": 16}}


@pytest.fixture
def small_devices(monkeypatch):
    """Every device 150 logic cells large, so that a small design is too large for all, and
    its small tables units of their own."""
    monkeypatch.setattr(hierarchy, "MIN_UNIT_TEXT", 0)
    for devices in pnr.DEVICES.values():
        for name, spec in devices.items():
            monkeypatch.setitem(devices, name, {**spec, "cells": 150})


@pytest.mark.parametrize("target", list(pnr.DEVICES))
def test_a_design_too_large_for_every_device_is_measured_by_its_unit(tmp_path, small_devices,
                                                                     target):
    design = from_mapping(TABLES)
    emitted = verilog.emit(design, tmp_path / "build")
    report = pnr.place_and_route(design, emitted, target, seeds=1, reports_dir=tmp_path / "r",
                                 cache_dir=tmp_path / "cache")
    placed = report["pnr"]
    assert placed["scope"] == "unit" and placed["out_of_context"]
    assert placed["unit"] == "tables.lane0" and placed["instances"] == 2  # the largest unit
    assert placed["reason"].endswith("has 150")
    assert placed["fmax_mhz"] > 10 and placed["critical_path"]["to"]
    table = synth.render_markdown([report])
    assert "(unit, out of context)" in table
    assert "Fmax of the repeated unit tables.lane0 (×2) placed out of context" in table


def test_a_unit_is_placed_when_asked_for(tmp_path, monkeypatch):
    monkeypatch.setattr(hierarchy, "MIN_UNIT_TEXT", 0)
    design = from_mapping(TABLES)
    emitted = verilog.emit(design, tmp_path / "build")
    report, hit = pnr.place_and_route_cached(design, emitted, "ecp5", seeds=1, unit=True,
                                             reports_dir=tmp_path / "r",
                                             cache_dir=tmp_path / "cache")
    placed = report["pnr"]
    assert not hit and placed["scope"] == "unit" and placed["unit"] == "tables.lane0"
    assert placed["reason"] == "a unit was asked for" and placed["fmax_mhz"] > 10
    key = pnr.cache_key(emitted.verilog.read_text(), design.name, "ecp5", None, 1, 100.0)
    assert key != pnr.cache_key(emitted.verilog.read_text(), design.name, "ecp5", None, 1,
                                100.0, unit=True)


def test_a_design_too_large_without_a_unit_does_not_fit(tiny, small_devices):
    design, emitted, reports = tiny
    with pytest.raises(pnr.FitError, match=r"does not fit any ecp5 device: needs at least \d+ "
                                           r"logic cells, ecp5-25k has 150"):
        pnr.place_and_route(design, emitted, "ecp5", reports_dir=reports)


def test_critical_path_ends_are_named_by_registers():
    def flop(kind, data, q):
        return {"type": kind, "port_directions": {data[0]: "input", "Q": "output"},
                "connections": {data[0]: [data[1]], "Q": [q]}}
    netlist = {"modules": {"top": {"attributes": {"top": 1}, "netnames": {
        "acc": {"bits": [2, 3], "hide_varname": 0}, "$abc$9": {"bits": [4], "hide_varname": 1},
        "sum": {"bits": [5], "hide_varname": 0}},
        "cells": {
            "acc_FF_0": flop("TRELLIS_FF", ("DI", 4), 3),
            "sum_LUT": {"type": "LUT4", "port_directions": {"Z": "output", "A": "input"},
                        "connections": {"Z": [4], "A": [2]}}}}}}
    step = {"delay": 1.0, "from": {"cell": "x"}, "to": {"cell": "sum_LUT"}}
    report = {"critical_paths": [{"from": "posedge clk", "to": "posedge clk", "path": [
        {**step, "type": "clk-to-q"}, {**step, "type": "routing", "net": "acc[0]"},
        {**step, "type": "logic"}]}]}
    # The path ends at a LUT: the register is the flop that LUT feeds.
    assert pnr.critical_path(report, netlist) == {
        "from": "acc[0]", "to": "acc[1]", "delay_ns": 3.0, "logic_levels": 1, "clock": "clk"}
    assert pnr.critical_path({"critical_paths": []}, netlist) is None


def test_harness_shifts_every_port_bit_in_and_out():
    manifest = {"top": "core", "ports": {
        "clk": {"dir": "in", "width": 1}, "a": {"dir": "in", "width": 3},
        "b": {"dir": "in", "width": 1}, "y": {"dir": "out", "width": 5}}}
    text, flops = pnr.harness_verilog(manifest)
    assert flops == 9
    assert ".a (in_shift[2:0])" in text and ".b (in_shift[3:3])" in text
    assert ".y (out_bus[4:0])" in text and "core core(.clk(clk)" in text


NEXTPNR_UTILISATION = """\
Info: Device utilisation:
Info: 	         ICESTORM_LC:   19867/   5280   376%
Info: 	        ICESTORM_RAM:       0/     30     0%
Info: 	               SB_IO:       3/     96     3%
Info: 	          ICESTORM_DSP:     2/      8    25%
ERROR: Unable to place cell 'x', no BELs remaining to implement cell type 'ICESTORM_LC'
"""


def test_overflow_names_the_resource_and_by_how_much():
    error = pnr.fit_error(NEXTPNR_UTILISATION, "up5k")
    assert isinstance(error, pnr.FitError)
    assert str(error).endswith("does not fit up5k: ICESTORM_LC: needs 19867, up5k has 5280 "
                               "(14587 too many, 376%)")
    only_bels = pnr.fit_error("ERROR: no BELs remaining to implement cell type 'SB_MAC16'",
                              "hx8k")
    assert "does not fit hx8k: not enough SB_MAC16" in str(only_bels)
    assert pnr.fit_error("ERROR: something else", "up5k") is None


@pytest.mark.slow
def test_oversized_design_does_not_fit(tmp_path):
    design = from_mapping({"name": "big_dot", "kind": "bitparallel_dot",
                           "params": {"lanes": 48, "weight_bits": 8, "group_size": 48}})
    emitted = verilog.emit(design, tmp_path / "build")
    with pytest.raises(pnr.FitError, match=r"does not fit up5k: ICESTORM_LC: needs \d+"):
        pnr.place_and_route(design, emitted, "ice40", reports_dir=tmp_path / "reports")
