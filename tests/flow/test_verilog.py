"""Emission: deterministic Verilog and a manifest that describes it exactly."""
import json
import re
import subprocess
import sys

import pytest

from hwgen.config import from_mapping, load
from hwgen.flow import verilog
from hwgen.flow.payload import pack, unpack

SMALL = {"name": "bs_small", "kind": "bitserial_dot",
         "params": {"lanes": 3, "weight_bits": 4, "weight_format": "bitmod", "group_size": 6}}


def verilog_ports(text, top):
    """``{port: (direction, width)}`` from the module's declarations."""
    start = text.index(f"module {top}(")
    body = text[start:text.index("endmodule", start)]
    ports = {}
    for direction, msb, name in re.findall(r"^\s*(input|output)\s+(?:\[(\d+):0\]\s+)?(\S+);",
                                           body, re.M):
        ports[name] = ("in" if direction == "input" else "out", int(msb or 0) + 1)
    return ports


def test_manifest_describes_the_emitted_ports(tmp_path):
    design = from_mapping(SMALL)
    emitted = verilog.emit(design, tmp_path)
    manifest = json.loads(emitted.manifest.read_text())
    declared = verilog_ports(emitted.verilog.read_text(), "bs_small")
    assert {port: (info["dir"], info["width"]) for port, info in manifest["ports"].items()} \
        == declared
    for name, stream in manifest["streams"].items():
        assert declared[f"{name}__payload"][1] == stream["payload_width"]
        covered = sorted((field["lsb"], field["lsb"] + field["width"])
                         for field in stream["fields"].values())
        assert covered[0][0] == 0 and covered[-1][1] == stream["payload_width"]
        assert all(a[1] == b[0] for a, b in zip(covered, covered[1:]))


def test_manifest_contents(tmp_path):
    design = from_mapping(SMALL)
    manifest = json.loads(verilog.emit(design, tmp_path).manifest.read_text())
    assert manifest["name"] == manifest["top"] == "bs_small"
    assert manifest["kind"] == "bitserial_dot"
    assert manifest["params"] == design.params.to_dict()
    assert manifest["params"]["acc_bits"] == design.params.acc_bits
    assert manifest["tools"]["amaranth"] == "0.5.10"
    assert manifest["hwgen_version"]
    fields = manifest["streams"]["i"]["fields"]
    assert fields["a"] == {"lsb": 0, "width": 24, "signed": True, "count": 3, "elem_width": 8}
    assert fields["w"]["count"] == 3 and fields["w"]["elem_width"] == 4
    assert "prec" not in fields and fields["dtype"]["width"] == 2
    assert manifest["streams"]["o"]["fields"]["y"]["signed"] is True
    assert manifest["latency_cycles"] == 7
    assert manifest["cycles_per_beat"] == 3
    assert manifest["macs_per_cycle"] == 1.0


def test_shipped_huffman_kv32_declares_its_pipeline(tmp_path, root):
    """Every register of the parallel decoder, the step's included: 21 cycles, a word per
    cycle (measured in tests/unit/test_huffman.py for each register)."""
    design = load(root / "designs/huffman_kv32.yaml")
    manifest = json.loads(verilog.emit(design, tmp_path).manifest.read_text())
    assert manifest["params"]["pipeline"]["step"] is True
    assert (manifest["latency_cycles"], manifest["cycles_per_beat"]) == (21, 1)


def test_verilog_is_byte_identical_across_processes(tmp_path):
    config = tmp_path / "small.yaml"
    config.write_text(json.dumps(SMALL))
    outputs = []
    for run in ("a", "b"):
        subprocess.run([sys.executable, "-m", "hwgen", "verilog", str(config),
                        "--out", str(tmp_path / run)], check=True, capture_output=True)
        outputs.append([(tmp_path / run / "bs_small" / name).read_bytes()
                        for name in ("bs_small.v", "bs_small.json")])
    assert outputs[0] == outputs[1]


def test_payload_round_trip_with_arrays_of_arrays():
    fields = {"x": {"lsb": 0, "width": 3, "signed": True},
              "m": {"lsb": 3, "width": 12, "signed": False, "count": 6, "elem_width": 2,
                    "dims": [3, 2]},
              "s": {"lsb": 15, "width": 8, "signed": True, "count": 2, "elem_width": 4}}
    beat = {"x": -4, "m": [[1, 2], [3, 0], [2, 1]], "s": [-8, 7]}
    assert unpack(fields, pack(fields, beat)) == beat


@pytest.mark.parametrize("beat,message", [
    ({"x": 4}, r"field 'x': 4 does not fit signed\(3\)"),
    ({"y": 1}, r"beat has fields \['y'\] that the payload does not"),
    ({"s": [1]}, r"field 's': expected 2 elements, got 1"),
])
def test_payload_rejects_what_does_not_fit(beat, message):
    fields = {"x": {"lsb": 0, "width": 3, "signed": True},
              "s": {"lsb": 3, "width": 8, "signed": True, "count": 2, "elem_width": 4}}
    with pytest.raises(ValueError, match=message):
        pack(fields, beat)
