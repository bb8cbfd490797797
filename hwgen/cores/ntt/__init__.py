"""NTT tile: a pipelined negacyclic number-theoretic transform (forward and inverse) over a
prime q with 2n | q − 1, built from the modred family's modular multiplier."""
from hwgen.cores.ntt.butterfly import Butterfly, Op
from hwgen.cores.ntt.params import NttParams
from hwgen.cores.ntt.tile import NttTile
from hwgen.golden import ntt as golden
from hwgen.registry import Kind

__all__ = ["Butterfly", "Op", "NttParams", "NttTile", "KINDS"]

KINDS = [
    Kind(name="ntt_tile",
         description="size-n negacyclic NTT / inverse NTT over a prime q (2n | q − 1): "
                     "coefficients in, natural-order transform out, modmul butterflies",
         params=NttParams, build=NttTile, vectors=golden.vectors),
]
