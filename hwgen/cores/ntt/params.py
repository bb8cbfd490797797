"""Parameters of the NTT tile (``ntt_tile``)."""
import dataclasses

from hwgen.golden import moduli
from hwgen.cores.modred.params import ModMulParams, ModulusRule
from hwgen.golden import ntt as golden
from hwgen.params import Int, Params, ParamValueError, param, shown

__all__ = ["NttParams", "MODMUL_PARAMS"]

# Parameters handed unchanged to the butterfly's modular multiplier (hwgen.cores.modred).
MODMUL_PARAMS = ("method", "k", "table_storage", "lut_groups", "merge_level", "r_bits", "stages")


def _modmul_param(name):
    field = ModMulParams.field(name)
    return param(field.default, field.metadata["rule"],
                 f"butterfly modmul: {field.metadata['doc']}")


@dataclasses.dataclass(frozen=True)
class NttParams(Params):
    n: int = param(256, Int(8, 4096, power_of_two=True), "coefficients per transform")
    modulus: object = param("dilithium", ModulusRule(),
                            "the prime q, with 2^(layers+1) dividing q − 1: an integer, or a "
                            "name from hwgen.golden.moduli (dilithium, falcon, kyber, ...)")
    butterflies: int = param(1, Int(1, 8, power_of_two=True),
                             "butterflies issued per cycle (each with its own multiplier); "
                             "the coefficient buffers have 2·butterflies banks")
    layers: int = param(None, Int(1, 12),
                        "butterfly stages; default log2 n (a complete NTT); fewer give an "
                        "incomplete NTT into 2^layers residues, e.g. Kyber's 7 for n = 256")
    method: str = _modmul_param("method")
    k: int = _modmul_param("k")
    table_storage: str = _modmul_param("table_storage")
    lut_groups: int = _modmul_param("lut_groups")
    merge_level: int = _modmul_param("merge_level")
    r_bits: int = _modmul_param("r_bits")
    stages: int = _modmul_param("stages")

    @property
    def q(self):
        return moduli.lookup(self.modulus)

    @property
    def coeff_bits(self):
        return self.q.bit_length()

    @property
    def log_n(self):
        return self.n.bit_length() - 1

    def _modmul_values(self):
        # The butterfly widens the tag to carry its other operand past the multiplier.
        return dict(modulus=self.modulus, tag_bits=1,
                    **{name: getattr(self, name) for name in MODMUL_PARAMS})

    @property
    def modmul_params(self):
        """The butterfly multiplier's parameters."""
        return ModMulParams(**self._modmul_values())

    @property
    def blocks(self):
        """Residues of the transform: ``2^layers``."""
        return 1 << self.layers

    def check(self):
        q, n = self.q, self.n
        log_n = n.bit_length() - 1
        if self.layers is not None and self.layers > log_n:
            raise ParamValueError("layers", f"must be at most log2 n = {log_n}, not "
                                            f"{self.layers!r}")
        if self.butterflies > n // 4:
            raise ParamValueError("butterflies", f"must be at most n/4 = {n // 4}, not "
                                                 f"{self.butterflies!r}")
        blocks = n if self.layers is None else 1 << self.layers
        problem = golden.transform_problem(q, blocks)
        largest = golden.max_size(q) if problem != "not prime" else 0
        if largest < 2:
            raise ParamValueError("modulus", f"must be a prime q with 4 dividing q − 1, not "
                                             f"{shown(self.modulus)}")
        if problem:
            name = "n" if self.layers is None else "layers"
            raise ParamValueError(name, f"must give 2^layers residues with 2^(layers+1) "
                                        f"dividing q − 1 (at most {largest} residues for "
                                        f"modulus {shown(self.modulus)}; n = {n}), not "
                                        f"{getattr(self, name)!r}")
        ModMulParams(**self._modmul_values())  # its own rules, under the same names

    def unused(self):
        return self.modmul_params.unused()

    def derive(self):
        mul = self.modmul_params
        return {"layers": self.log_n, **{name: getattr(mul, name) for name in MODMUL_PARAMS}}
