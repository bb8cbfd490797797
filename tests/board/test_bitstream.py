# amaranth: UnusedElaboratable=no
"""The board flow: parameter checks, deterministic build inputs, the CLI, and (slow) real
bitstreams."""
import json

import pytest
from amaranth import unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from hwgen import cli
from hwgen.board import boards
from hwgen.board.bridge import HostBridge
from hwgen.config import from_mapping, load
from hwgen.flow import bitstream, pnr
from tests.conftest import ROOT

MODRED = ROOT / "designs" / "modred_kyber_auto.yaml"


def test_board_divisors_come_from_the_board_clock():
    clocks = {name: boards.lookup(name).platform().default_clk_frequency
              for name in boards.BOARDS}
    assert {name: boards.divisor_for(clock, 115200) for name, clock in clocks.items()} == {
        "icebreaker": 104, "ulx3s": 217, "orangecrab": 417}


def test_unreachable_baud_is_rejected():
    with pytest.raises(ValueError, match=r"baud must be reachable within 2% from the 12 MHz "
                                         r"board clock with at least 4 cycles per bit, not "
                                         r"5000000"):
        boards.divisor_for(12e6, 5_000_000)


def test_unknown_board_is_rejected():
    with pytest.raises(ValueError, match=r"board must be one of 'icebreaker', 'ulx3s', "
                                         r"'orangecrab', not 'ulx3' *; did you mean 'ulx3s'\?"):
        boards.lookup("ulx3")


class TwoInputs(wiring.Component):
    def __init__(self):
        layout = data.StructLayout({"x": unsigned(8)})
        super().__init__({"i": In(stream.Signature(layout)), "w": In(stream.Signature(layout)),
                          "o": Out(stream.Signature(layout))})


def test_bridge_rejects_tops_without_exactly_i_and_o():
    with pytest.raises(TypeError, match=r"top must have exactly an input stream 'i' and an "
                                        r"output stream 'o' with StructLayout payloads, not"):
        HostBridge(TwoInputs(), divisor=4, timeout=100)


def test_bridge_rejects_a_timeout_shorter_than_two_characters():
    top = load(MODRED).build()
    with pytest.raises(ValueError, match=r"timeout must be an integer of at least two characters "
                                         r"\(80 cycles at divisor 4\), not 79"):
        HostBridge(top, divisor=4, timeout=79)


@pytest.mark.parametrize("board", boards.BOARDS)
def test_build_inputs_are_deterministic(board):
    design = load(MODRED)

    def files():
        platform = boards.lookup(board).platform()
        top = boards.BoardTop(design.build(), clock_hz=platform.default_clk_frequency)
        return platform.prepare(top, name=design.name, emit_src=False).files

    first, second = files(), files()
    assert first == second
    assert not any("/work" in str(text) for text in first.values())


def test_orangecrab_uart_is_on_the_feather_pins():
    platform = boards.lookup("orangecrab").platform()
    top = boards.BoardTop(load(MODRED).build(), clock_hz=platform.default_clk_frequency)
    plan = platform.prepare(top, name="t", emit_src=False)
    assert 'LOCATE COMP "uart_0__rx__io" SITE "N17"' in plan.files["t.lpf"]
    assert 'LOCATE COMP "uart_0__tx__io" SITE "M18"' in plan.files["t.lpf"]
    assert "dfu-suffix" not in plan.files["build_t.sh"].split(":=dfu-suffix}")[-1]


def test_cli_rejects_bad_baud(capsys):
    assert cli.main(["bitstream", str(MODRED), "--board", "icebreaker", "--baud", "5000000"]) == 2
    assert "error: --baud: baud must be reachable" in capsys.readouterr().err


def test_cli_rejects_unknown_board(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["bitstream", str(MODRED), "--board", "arty"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'arty'" in capsys.readouterr().err


@pytest.mark.slow
def test_icebreaker_bitstream_is_real_and_deterministic(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # YoWASP tools need relative paths below the working dir
    design = load(MODRED)
    report = bitstream.build(design, "icebreaker", out_dir="a", reports_dir="reports")
    again = bitstream.build(design, "icebreaker", out_dir="b", reports_dir="reports")
    assert report["bitstream"]["sha256"] == again["bitstream"]["sha256"]
    assert report["bitstream"]["bytes"] == 104090  # the UP5K's full configuration image
    assert report["uart"] == {"baud": 115200, "divisor": 104, "actual_baud": 115385,
                              "buffer_beats": 128}
    assert report["timing_met"] and report["fmax_mhz"] > report["clock_mhz"] == 12
    assert report["utilization"]["ICESTORM_LC"]["used"] > 0
    saved = json.loads((tmp_path / "reports" / design.name / "bitstream_icebreaker.json")
                       .read_text())
    assert saved == again  # the report of the last build (its bitstream under b/)


@pytest.mark.slow
def test_design_too_big_for_the_board_says_which_resource(tmp_path, monkeypatch):
    # A 128-bit modular multiplier: its multipliers need far more than the UP5K's 8 DSPs, and
    # built from logic they need far more than its 5280 logic cells.
    monkeypatch.chdir(tmp_path)
    design = from_mapping({"name": "big", "kind": "modmul",
                           "params": {"modulus": "secp128r1_n", "method": "barrett"}})
    with pytest.raises(pnr.FitError, match=r"does not fit iCE40UP5K-SG48: ICESTORM_LC: needs "
                                           r"\d+, iCE40UP5K-SG48 has 5280 \(\d+ too many"):
        bitstream.build(design, "icebreaker", out_dir="build", reports_dir="reports")
