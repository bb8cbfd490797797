"""Deduplication of repeated modules and hierarchical synthesis, on a small design built here:
three identical multiply-accumulate lanes, a fourth lane of another width, an adder."""
import json
import types

import pytest
from amaranth import Module, Signal
from amaranth.back import verilog as amaranth_verilog
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from hwgen.flow import hierarchy, measure, synth, tools


class Lane(wiring.Component):
    def __init__(self, width):
        self._width = width
        super().__init__({"a": In(width), "b": In(width), "y": Out(2 * width + 2)})

    def elaborate(self, platform):
        m = Module()
        m.d.sync += self.y.eq(self.y + self.a * self.b)
        return m


class Lanes(wiring.Component):
    def __init__(self, lanes=3):
        self._lanes = lanes
        super().__init__({"a": In(4).array(lanes + 1), "b": In(4).array(lanes + 1),
                          "y": Out(12)})

    def elaborate(self, platform):
        m = Module()
        total = 0
        for index in range(self._lanes + 1):
            lane = Lane(4 if index < self._lanes else 3)
            m.submodules[f"lane{index}"] = lane
            m.d.comb += [lane.a.eq(self.a[index]), lane.b.eq(self.b[index])]
            total = total + lane.y
        m.d.sync += self.y.eq(total)
        return m


@pytest.fixture(autouse=True)
def small_units(monkeypatch):
    """The lanes here are a few gates: units of their own only below the usual size."""
    monkeypatch.setattr(hierarchy, "MIN_UNIT_TEXT", 0)


def test_tiny_repeated_modules_are_flattened_at_the_usual_size(monkeypatch):
    monkeypatch.undo()
    tree = hierarchy.deduplicate(amaranth_verilog.convert(Lanes(3), name="top", emit_src=False),
                                 "top")
    lane = next(name for name, module in tree.modules.items() if module.instances == 3)
    assert tree.units() == {tree.top}
    monkeypatch.setattr(hierarchy, "MIN_UNIT_TEXT", len(tree.modules[lane].text))
    assert tree.units() == {tree.top, lane}


class Bank(wiring.Component):
    """A memory of ``depth`` words of ``width`` bits: little text, many flops."""

    def __init__(self, width, depth):
        self._width, self._depth = width, depth
        super().__init__({"addr": In(range(depth)), "data": In(width), "en": In(1),
                          "y": Out(width)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.memory = store = memory.Memory(shape=self._width, depth=self._depth, init=[])
        write, read = store.write_port(), store.read_port()
        m.d.comb += [write.addr.eq(self.addr), write.data.eq(self.data), write.en.eq(self.en),
                     read.addr.eq(self.addr), self.y.eq(read.data)]
        return m


class Banks(wiring.Component):
    def __init__(self, width, depth):
        self._width, self._depth = width, depth
        super().__init__({"addr": In(range(depth)).array(2), "data": In(width).array(2),
                          "en": In(1).array(2), "y": Out(width).array(2)})

    def elaborate(self, platform):
        m = Module()
        for index in range(2):
            m.submodules[f"bank{index}"] = bank = Bank(self._width, self._depth)
            m.d.comb += [bank.addr.eq(self.addr[index]), bank.data.eq(self.data[index]),
                         bank.en.eq(self.en[index]), self.y[index].eq(bank.y)]
        return m


@pytest.mark.parametrize("width,units", [(1, 1), (128, 2)])
def test_a_memory_counts_its_bits(monkeypatch, width, units):
    """Two 32-word banks: their text is short whatever the width, but 128-bit words are
    4,096 flops each, enough for a unit of its own; 1-bit words are not."""
    monkeypatch.undo()
    text = amaranth_verilog.convert(Banks(width, 32), name="top", emit_src=False)
    tree = hierarchy.deduplicate(text, "top")
    bank = next(name for name, module in tree.modules.items() if module.instances == 2)
    assert len(tree.modules[bank].text) < hierarchy.MIN_UNIT_TEXT
    assert len(tree.units()) == units


class Emitted:
    def __init__(self, root, name, text):
        self.dir = root / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.verilog = self.dir / f"{name}.v"
        self.verilog.write_text(text)


def emit(root, name, lanes=3):
    text = amaranth_verilog.convert(Lanes(lanes), name=name, emit_src=False)
    design = types.SimpleNamespace(name=name, kind=types.SimpleNamespace(name="lanes"),
                                   params=types.SimpleNamespace(to_dict=lambda: {"lanes": lanes}))
    return design, Emitted(root, name, text)


def test_identical_modules_are_merged_and_counted_per_instance():
    text = amaranth_verilog.convert(Lanes(3), name="top", emit_src=False)
    assert text.count("\nmodule ") + text.startswith("module ") == 5
    tree = hierarchy.deduplicate(text, "top")
    assert len(tree.modules) == 3
    top = tree.modules[tree.top]
    assert sorted(top.children.values()) == [1, 3]
    by_count = {tree.modules[name].instances: tree.modules[name] for name in top.children}
    assert by_count[3].label == "top.lane0" and by_count[1].label == "top.lane3"
    assert tree.units() == {tree.top, by_count[3].name}
    # The same lane has the same canonical name in another design.
    other = hierarchy.deduplicate(amaranth_verilog.convert(Lanes(5), name="wide",
                                                           emit_src=False), "wide")
    assert by_count[3].name in other.modules and other.modules[by_count[3].name].instances == 5
    # The top keeps its ports; a unit's stub declares its ports and nothing else.
    assert "input [3:0] a__0;" in top.text.replace("  ", " ")
    stub = tree.stub(by_count[3].name)
    assert stub.startswith("(* blackbox *)") and stub.count("input") == 4  # a, b, clk, rst
    assert "output" in stub and "always" not in stub


def test_deduplicated_verilog_is_equivalent_to_the_original(tmp_path):
    text = amaranth_verilog.convert(Lanes(3), name="top", emit_src=False)
    tree = hierarchy.deduplicate(text, "top")
    (tmp_path / "gold.v").write_text(text)
    (tmp_path / "gate.v").write_text(tree.verilog())
    commands = [
        "design -reset", "read_verilog gate.v", f"rename {tree.top} gate",
        "hierarchy -top gate", "proc", "flatten", "design -stash gate",
        "read_verilog gold.v", "hierarchy -top top", "proc", "flatten", "rename top gold",
        "design -copy-from gate -as gate gate",
        "miter -equiv -flatten -make_assert -ignore_gold_x gold gate miter",
        "hierarchy -top miter",
        "sat -verify -prove-asserts -set-init-zero -seq 6 -show-inputs miter",
        "tee -q -o stat.json stat -json",
    ]
    synth.run_yosys(tmp_path, [], "miter", commands, timeout=300)


def test_texts_differing_only_in_names_merge_and_different_ones_do_not():
    text = """
module top(input clk, input [1:0] x, output [1:0] y, output z);
  \\top.u0  u0 (.\\port$1 (x[0]), .o(y[0]));
  \\top.u1  u1 (.\\port$7 (x[1]), .o(y[1]));
  \\top.v  v (.i(x[0]), .o(z));
endmodule
module \\top.u0 (\\port$1 , o);
  input \\port$1 ;
  output o;
  wire \\$3 ;
  assign \\$3  = ~ \\port$1 ;
  assign o = \\$3 ;
endmodule
module \\top.u1 (\\port$7 , o);
  input \\port$7 ;
  output o;
  wire \\$9 ;
  assign \\$9  = ~ \\port$7 ;
  assign o = \\$9 ;
endmodule
module \\top.v (i, o);
  input i;
  output o;
  assign o = i;
endmodule
"""
    tree = hierarchy.deduplicate(text, "top")
    assert len(tree.modules) == 3
    top = tree.modules[tree.top]
    assert sorted(top.children.values()) == [1, 2]
    # Both instances now connect the ports of the one remaining module by its port names.
    unit = next(name for name, count in top.children.items() if count == 2)
    assert top.text.count(f"{unit} ") == 2
    assert ".\\$0 (x[0])" in top.text and ".\\$0 (x[1])" in top.text
    assert "port$" not in top.text


class Group(wiring.Component):
    """Two identical lanes; instantiated twice beside a third lane like theirs, so a lane is
    met (as ``solo``) before the group that holds the lanes when the top's text is read."""

    def __init__(self):
        super().__init__({"a": In(4), "y": Out(10)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.l0 = l0 = Lane(4)
        m.submodules.l1 = l1 = Lane(4)
        m.d.comb += [l0.a.eq(self.a), l0.b.eq(self.a), l1.a.eq(self.a), l1.b.eq(self.a),
                     self.y.eq(l0.y + l1.y)]
        return m


class Groups(wiring.Component):
    def __init__(self):
        super().__init__({"a": In(4), "y": Out(12)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.g0 = g0 = Group()
        m.submodules.g1 = g1 = Group()
        m.submodules.solo = solo = Lane(4)
        m.d.comb += [g0.a.eq(self.a), g1.a.eq(~self.a), solo.a.eq(self.a), solo.b.eq(self.a),
                     self.y.eq(g0.y + g1.y + solo.y)]
        return m


def test_nested_units_are_merged_and_listed_parents_first(tmp_path):
    text = amaranth_verilog.convert(Groups(), name="groups", emit_src=False)
    tree = hierarchy.deduplicate(text, "groups")
    # The two groups merge although Amaranth lists their ports in different orders.
    assert [module.instances for module in tree.modules.values()] == [1, 2, 5]
    names = list(tree.modules)
    for index, module in enumerate(tree.modules.values()):
        assert all(names.index(child) > index for child in module.children)
    design = types.SimpleNamespace(name="groups", kind=types.SimpleNamespace(name="groups"),
                                   params=types.SimpleNamespace(to_dict=dict))
    report = synth.run_synthesis(design, Emitted(tmp_path, "groups", text), "ice40",
                                 unit_cache={})
    assert [row["instances"] for row in report["units"]] == [1, 2, 5]
    assert report["area"]["ff"] == 5 * 10   # the lanes hold the only registers


@pytest.mark.parametrize("text, message", [
    ("module a(); b b1 (); endmodule\nmodule b(); a a1 (); endmodule", "instantiates itself"),
    ("module a(); endmodule\nmodule a(); endmodule", "defined twice"),
    ("module a();", "no endmodule"),
])
def test_malformed_verilog_is_rejected(text, message):
    with pytest.raises(ValueError, match=message):
        hierarchy.deduplicate(text, "a")


def test_unknown_top_is_named():
    with pytest.raises(ValueError, match="no module 'x'"):
        hierarchy.deduplicate("module a(); endmodule", "x")


@pytest.fixture(scope="module")
def lanes(tmp_path_factory):
    return emit(tmp_path_factory.mktemp("lanes"), "lanes3")


@pytest.mark.parametrize("target", synth.TARGETS)
def test_units_are_synthesized_once_and_counted_per_instance(lanes, target):
    design, emitted = lanes
    cache = {}
    report = synth.run_synthesis(design, emitted, target, unit_cache=cache)
    flat = synth.run_synthesis(design, emitted, target, hierarchy=False)
    assert report["hierarchy"] == "units" and flat["hierarchy"] == "flat"
    rows = {row["unit"]: row for row in report["units"]}
    assert rows["lanes3.lane0"]["instances"] == 3 and rows["lanes3"]["instances"] == 1
    assert rows["lanes3"]["area"] == report["area"]
    assert len(cache) == 2   # the top and the repeated lane; lane3 is flattened into the top
    flops = "flops" if target == "generic" else "ff"
    # Flops are not optimized across the lane boundary here: both ways count them all.
    assert report["area"][flops] == flat["area"][flops] == 3 * 10 + 8 + 12
    if target == "generic":
        assert report["area"]["ge"] == report["area"]["transistors"] / 4
        lane = rows["lanes3.lane0"]["area"]
        assert lane["flops"] == 10
        assert report["area"]["transistors"] > 3 * lane["transistors"]


def test_a_unit_synthesized_before_is_taken_from_the_cache(tmp_path, monkeypatch):
    cache = measure.Store(tmp_path / "units")
    design, emitted = emit(tmp_path, "three", lanes=3)
    first = synth.run_synthesis(design, emitted, "generic", unit_cache=cache)
    lane = next(row for row in first["units"] if row["instances"] == 3)
    # A design with five of the same lanes synthesizes its top only; the lane is a blackbox.
    design, emitted = emit(tmp_path, "five", lanes=5)
    second = synth.run_synthesis(design, emitted, "generic", unit_cache=cache)
    job_text = (emitted.dir / "synth" / "generic" / "units" / "units.v").read_text()
    assert f"(* blackbox *)\nmodule {lane['name']}" in job_text
    assert next(row for row in second["units"] if row["instances"] == 5)["area"] == lane["area"]
    # Nothing new: no Yosys run at all.
    monkeypatch.setattr(tools, "run", lambda *args, **kwargs: pytest.fail("Yosys ran"))
    assert synth.run_synthesis(design, emitted, "generic", unit_cache=cache)["area"] == \
        second["area"]


def test_a_design_without_repeated_units_is_synthesized_flat(tmp_path):
    design, emitted = emit(tmp_path, "one", lanes=1)
    report, hit = measure.synthesize_cached(design, emitted, "generic", cache_dir=tmp_path / "c")
    assert report["hierarchy"] == "flat" and not hit
    # The flat entry serves a later flat request too.
    again, hit = measure.synthesize_cached(design, emitted, "generic", cache_dir=tmp_path / "c",
                                           hierarchy=False)
    assert hit and again == report


def test_generic_area_counts_flops_at_the_standard_cell_ratio():
    area = synth.area_of("generic", {"$_DFF_P_": 10, "$_NAND_": 20}, 10 * 16 + 20 * 4)
    assert area == {"transistors": 240, "ge": 60.0, "cells": 30, "flops": 10,
                    "ge_std": 60.0 + 10 * (synth.STD_CELL_FLOP_GE - 4)}
    assert synth.STD_CELL_FLOP_GE == pytest.approx(4.522 / 0.798, abs=0.05)


def test_cached_reports_gain_new_area_columns(tmp_path, lanes):
    design, emitted = lanes
    report, _ = measure.synthesize_cached(design, emitted, "generic", cache_dir=tmp_path,
                                          hierarchy=False)
    path, = (tmp_path / "synth").glob("*.json")
    old = json.loads(path.read_text())
    old["area"] = {key: old["area"][key] for key in ("transistors", "ge", "cells")}
    path.write_text(json.dumps(old))
    again, hit = measure.synthesize_cached(design, emitted, "generic", cache_dir=tmp_path,
                                           hierarchy=False)
    assert hit and again["area"] == report["area"] and "ge_std" in again["area"]


def test_a_core_is_composed_linearly_from_two_slices(monkeypatch):
    calls = []

    def fake_measure(kind, params, **options):
        calls.append((kind, params["lanes"], options))
        lanes = params["lanes"]
        return {"generic": {"ge": 100 + 10 * lanes, "flops": 4 * lanes, "note": "text"}}

    monkeypatch.setattr(measure, "measure", fake_measure)
    area = measure.composed("ternary_lut", {"mu": 4, "lanes": 99}, 8, timeout=5)
    assert area == {"generic": {"ge": 180.0, "flops": 32.0}}
    assert calls == [("ternary_lut", 2, {"timeout": 5}), ("ternary_lut", 4, {"timeout": 5})]


@pytest.mark.parametrize("slices", [(4, 2), (0, 2), (2.0, 4)])
def test_composition_rejects_bad_slices(slices):
    with pytest.raises(ValueError, match=r"slices must be two lane counts a < b, not "):
        measure.composed("ternary_lut", {}, 8, slices=slices)
