"""Parameters of the ternary family: ``ternary_lut`` and its baselines ``ternary_addsub`` and
``ternary_mac``."""
import dataclasses
from typing import ClassVar

from hwgen.golden import ternary as golden
from hwgen.params import Bool, Choice, Int, Nested, Params, ParamValueError, param, shown

__all__ = ["PipelineParams", "LutPipelineParams", "TableParams", "TernaryParams", "LutParams",
           "AddSubParams", "MacParams"]

FLOAT_BITS = 16


@dataclasses.dataclass(frozen=True)
class PipelineParams(Params):
    """Where the datapath has registers (each adds one cycle of latency)."""
    fetch: bool = param(False, Bool(),
                        "register each lane's terms (fetched entries, selected ±a or products) "
                        "before the reduction tree")
    tree_every: int = param(0, Int(0, 9),
                            "register the reduction tree after every this many adder levels "
                            "(0: never)")


@dataclasses.dataclass(frozen=True)
class LutPipelineParams(PipelineParams):
    table: bool = param(False, Bool(), "pipeline the half tables: a register after every "
                                        "adder level of their build (max(1, µ − 1) cycles)")


@dataclasses.dataclass(frozen=True)
class TableParams(Params):
    """The shape and activations of a core whose lanes share tables of µ-activation sums (the
    ternary cores here, the bit-plane core of :mod:`hwgen.cores.bitplane`)."""
    mu: int = param(3, Int(1, 5), "activations per table (µ); weights travel as one key per µ")
    n_tables: int = param(4, Int(1, 64),
                          "L: tables per beat, each on its own group of µ activations; a beat "
                          "reduces L·µ activations")
    lanes: int = param(4, Int(1, 256), "K: output lanes (weight columns) sharing every table")
    act_type: str = param("int", Choice("int", "fp16", "bf16"),
                          "activations: two's complement integers, or IEEE fp16 / bfloat16 with "
                          "round-to-nearest-even additions and full subnormal support")
    act_bits: int = param(None, Int(4, 16),
                          "activation width: 4..16 for int (default 8); 16 for fp16 and bf16")

    @property
    def is_float(self):
        return self.act_type != "int"

    @property
    def reduction(self):
        """Activations per beat (L·µ)."""
        return self.n_tables * self.mu


@dataclasses.dataclass(frozen=True)
class TernaryParams(TableParams):
    """Parameters shared by the LUT core and both baselines (they have the same streams)."""
    ARCHITECTURE: ClassVar[str]

    weight_format: str = param("key", Choice("key", "code2", "base3", *golden.VALUE_FORMATS),
                               "weights: a sign + half-table index per group of µ (key), "
                               "2 bits per weight (code2), 5 trits per byte (base3), or "
                               "(ternary_mac only) values of the activation type fed to a "
                               "full-width multiplier (int, fp16, bf16)")
    max_len: int = param(4096, Int(1, 1 << 20),
                         "longest dot product (activations) the default acc_bits holds exactly")
    acc_bits: int = param(None, Int(2, 64),
                          "int result width; default: exact for max_len activations at the "
                          "extremes; narrower results wrap (two's complement). 16 for floats")

    @property
    def architecture(self):
        return self.ARCHITECTURE

    @property
    def macs_per_cycle(self):
        return self.lanes * self.reduction

    def derive(self):
        derived = {}
        if self.act_bits is None:
            derived["act_bits"] = FLOAT_BITS if self.is_float else 8
        if self.acc_bits is None:
            act_bits = self.act_bits or derived["act_bits"]
            derived["acc_bits"] = (FLOAT_BITS if self.is_float else
                                   golden.exact_acc_bits(self.max_len, act_bits,
                                                         act_bits if self.value_weights else None))
        return derived

    @property
    def value_weights(self):
        """Weights enter as values of the activation type (a full-width multiplier's operand)."""
        return golden.is_value_format(self.weight_format)

    def check(self):
        if self.value_weights:
            codes = "'key', 'code2', 'base3'"
            if self.ARCHITECTURE != "mac":
                raise ParamValueError("weight_format", f"must be one of {codes} for "
                                                       f"ternary_{self.ARCHITECTURE}, not "
                                                       f"{self.weight_format!r}")
            if self.weight_format != self.act_type:
                raise ParamValueError("weight_format", f"must be {self.act_type!r} (the "
                                                       f"activation type) or one of {codes}, "
                                                       f"not {self.weight_format!r}")
        if self.is_float:
            for name in ("act_bits", "acc_bits"):
                value = getattr(self, name)
                if value is not None and value != FLOAT_BITS:
                    raise ParamValueError(name, f"must be {FLOAT_BITS} for act_type "
                                                f"{self.act_type!r}, not {shown(value)}")


@dataclasses.dataclass(frozen=True)
class LutParams(TernaryParams):
    ARCHITECTURE: ClassVar[str] = "lut"
    pipeline: LutPipelineParams = param(LutPipelineParams(), Nested(LutPipelineParams),
                                        "pipeline registers: table, fetch, tree_every")


@dataclasses.dataclass(frozen=True)
class AddSubParams(TernaryParams):
    ARCHITECTURE: ClassVar[str] = "addsub"
    pipeline: PipelineParams = param(PipelineParams(), Nested(PipelineParams),
                                     "pipeline registers: fetch (the selected ±a), tree_every")


@dataclasses.dataclass(frozen=True)
class MacParams(TernaryParams):
    ARCHITECTURE: ClassVar[str] = "mac"
    pipeline: PipelineParams = param(PipelineParams(), Nested(PipelineParams),
                                     "pipeline registers: fetch (the products), tree_every")
