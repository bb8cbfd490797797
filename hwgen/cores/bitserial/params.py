"""Parameters of the bit-serial MAC family (``bitserial_dot``) and its baseline (``bitparallel_dot``)."""
import dataclasses

from hwgen.golden import bitserial as golden
from hwgen.params import Bool, Choice, Int, Params, ParamValueError, param

__all__ = ["DotParams", "BitSerialParams", "BitParallelParams"]


@dataclasses.dataclass(frozen=True)
class DotParams(Params):
    """Parameters shared by the bit-serial engine and its bit-parallel baseline."""
    lanes: int = param(8, Int(1, 64), "activations and weight codes per beat")
    act_bits: int = param(8, Int(2, 16), "activation width")
    act_signed: bool = param(True, Bool(), "activations are two's complement (else unsigned)")
    weight_bits: int = param(4, Int(2, 8), "weight code width")
    weight_format: str = param("int", Choice("int", "uint", "bitmod"),
                               "weight codes: two's complement, unsigned, or BitMoD per-group "
                               "data types (3- or 4-bit codes)")
    group_size: int = param(None, Int(1, 1 << 16),
                            "elements per scale group, a multiple of lanes; default: the "
                            "smallest multiple of lanes that is at least 128")
    scale_bits: int = param(8, Int(1, 16), "width of the unsigned per-group scale")
    max_len: int = param(4096, Int(1, 1 << 20),
                         "longest dot product (elements) the default acc_bits holds exactly")
    acc_bits: int = param(None, Int(2, 64),
                          "output width; default: exact for max_len elements at the extremes "
                          "of every input; a smaller width wraps (two's complement)")
    pipeline_tree: bool = param(False, Bool(), "register the adder tree's partial sums after "
                                               "half of its levels (one more cycle of latency)")

    def derive(self):
        derived = {}
        if self.group_size is None:
            derived["group_size"] = -(-128 // self.lanes) * self.lanes
        if self.acc_bits is None:
            derived["acc_bits"] = golden.exact_acc_bits(self)
        return derived

    def check(self):
        if self.weight_format == "bitmod" and self.weight_bits not in (3, 4):
            raise ParamValueError("weight_bits", f"must be 3 or 4 for weight_format 'bitmod', "
                                                 f"not {self.weight_bits!r}")
        if self.group_size is not None and self.group_size % self.lanes:
            raise ParamValueError("group_size", f"must be a multiple of lanes "
                                                f"({self.lanes}), not {self.group_size!r}")

    @property
    def beats_per_group(self):
        return self.group_size // self.lanes

    @property
    def has_prec(self):
        """Whether codes carry a runtime precision (``int`` and ``uint``)."""
        return self.weight_format != "bitmod"


@dataclasses.dataclass(frozen=True)
class BitSerialParams(DotParams):
    digit: str = param("bit", Choice("bit", "booth4"),
                       "weight digit: one bit, or one radix-4 Booth digit")
    digits_per_cycle: int = param(1, Int(1, 8), "weight digits every lane consumes per cycle")
    weight_stream: str = param("codes", Choice("codes", "planes"),
                               "weights arrive as whole codes, held for the beat, or as digit "
                               "planes, one per cycle (int and uint codes)")

    def check(self):
        super().check()
        if self.weight_stream == "planes" and self.weight_format == "bitmod":
            raise ParamValueError("weight_stream", "must be 'codes' for weight_format 'bitmod', "
                                                   "not 'planes'")

    @property
    def planes(self):
        """Whether weights arrive as digit planes."""
        return self.weight_stream == "planes"


@dataclasses.dataclass(frozen=True)
class BitParallelParams(DotParams):
    multiplier: str = param("array", Choice("array", "booth"),
                            "lane multiplier: the narrowest exact `*`, or radix-4 Booth rows")
