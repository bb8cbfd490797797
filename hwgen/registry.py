"""Kind name → how to build, check and describe it.

Each family sub-package of :mod:`hwgen.cores` exports ``KINDS``, a list of :class:`Kind`.
Adding a family means adding its package to :data:`FAMILIES`; nothing else here changes.
"""
import dataclasses
import importlib
from typing import Callable

__all__ = ["Kind", "FAMILIES", "kinds", "lookup"]

FAMILIES = (
    "hwgen.cores.bitserial",
    "hwgen.cores.huffman",
    "hwgen.cores.ternary",
    "hwgen.cores.bitplane",
    "hwgen.cores.modred",
    "hwgen.cores.ntt",
    "hwgen.cores.dfloat",
    "hwgen.cores.llm_tile",
)


@dataclasses.dataclass(frozen=True)
class Kind:
    """One buildable kind.

    ``build(params)`` returns the Amaranth component; ``vectors(params, count, seed)``
    returns golden test vectors (see :mod:`hwgen.golden`); ``testbench`` names the cocotb
    module in :mod:`hwgen.testbenches` that checks the emitted Verilog against those vectors.
    """
    name: str
    description: str
    params: type
    build: Callable
    vectors: Callable
    testbench: str = "stream_tb"


def kinds():
    """Every registered kind, by name, in registration order."""
    result = {}
    for module_name in FAMILIES:
        for kind in importlib.import_module(module_name).KINDS:
            assert kind.name not in result, f"kind {kind.name!r} registered twice"
            result[kind.name] = kind
    return result


def lookup(name):
    """The kind called ``name``; ``KeyError`` if there is none."""
    return kinds()[name]
