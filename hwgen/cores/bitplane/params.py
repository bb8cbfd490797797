"""Parameters of the bit-plane LUT core (``lut_bitplane_dot``)."""
import dataclasses

from hwgen.cores.ternary.params import FLOAT_BITS, LutPipelineParams, TableParams
from hwgen.golden import bitplane as golden
from hwgen.params import Bool, Choice, Int, Nested, ParamValueError, param, shown

__all__ = ["BitplaneParams"]


@dataclasses.dataclass(frozen=True)
class BitplaneParams(TableParams):
    """Shape, activations, weights (planes, precision, sign), scale groups and pipeline of
    :class:`~hwgen.cores.bitplane.BitplaneCore`."""
    mu: int = param(4, Int(1, 5), "activations per table (µ); a table holds 2**(µ-1) entries")
    weight_bits: int = param(4, Int(1, 4),
                             "widest weight: bit planes per code; each beat's prec picks "
                             "1..weight_bits of them at run time")
    weight_signed: bool = param(True, Bool(),
                                "weights are two's complement (else unsigned)")
    planes: str = param("serial", Choice("serial", "parallel"),
                        "walk a beat's bit planes one per cycle, most significant first "
                        "(prec cycles a beat), or fetch all of them at once (one cycle)")
    group_size: int = param(None, Int(1, 1 << 16),
                            "activations per scale group, a multiple of n_tables·mu; default: "
                            "the smallest such multiple that is at least 128")
    scale_bits: int = param(None, Int(1, 16),
                            "per-group scale: an unsigned integer of this width (int, default "
                            "8), or a value of the activation type (16 for fp16 and bf16)")
    max_len: int = param(4096, Int(1, 1 << 20),
                         "longest dot product (activations) the default acc_bits holds exactly")
    acc_bits: int = param(None, Int(2, 64),
                          "int result width; default: exact for max_len activations at the "
                          "extremes of every input; narrower results wrap (two's complement). "
                          "16 for floats")
    pipeline: LutPipelineParams = param(LutPipelineParams(), Nested(LutPipelineParams),
                                        "pipeline registers: table, fetch, tree_every")

    @property
    def beats_per_group(self):
        return self.group_size // self.reduction

    @property
    def plane_count(self):
        """Bit planes a lane fetches per cycle."""
        return self.weight_bits if self.planes == "parallel" else 1

    @property
    def macs_per_cycle(self):
        """At full precision."""
        macs = self.lanes * self.reduction / (1 if self.planes == "parallel" else
                                              self.weight_bits)
        return int(macs) if macs == int(macs) else macs

    def derive(self):
        derived = {}
        if self.act_bits is None:
            derived["act_bits"] = FLOAT_BITS if self.is_float else 8
        if self.scale_bits is None:
            derived["scale_bits"] = FLOAT_BITS if self.is_float else 8
        if self.group_size is None:
            derived["group_size"] = -(-128 // self.reduction) * self.reduction
        if self.acc_bits is None:
            derived["acc_bits"] = FLOAT_BITS if self.is_float else golden.exact_acc_bits(
                self.max_len, self.act_bits or derived["act_bits"], self.weight_bits,
                self.weight_signed, self.scale_bits or derived["scale_bits"])
        return derived

    def check(self):
        if self.is_float:
            for name in ("act_bits", "scale_bits", "acc_bits"):
                value = getattr(self, name)
                if value is not None and value != FLOAT_BITS:
                    raise ParamValueError(name, f"must be {FLOAT_BITS} for act_type "
                                                f"{self.act_type!r}, not {shown(value)}")
        if self.group_size is not None and self.group_size % self.reduction:
            raise ParamValueError("group_size", f"must be a multiple of n_tables·mu "
                                                f"({self.reduction}), not {self.group_size!r}")
