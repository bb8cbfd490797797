"""Modular-reduction family: x mod q for HE/ZKP moduli by table folding (lut), MSB-first
iteration, the ALLMod hybrid of both, Barrett, Montgomery and special forms; and the
modular multiplier built on it."""
from hwgen.cores.modred.params import ModMulParams, ReducerParams
from hwgen.cores.modred.reducer import ModMul, ModReducer
from hwgen.golden import modred as golden
from hwgen.registry import Kind

__all__ = ["ModReducer", "ModMul", "ReducerParams", "ModMulParams", "KINDS"]

KINDS = [
    Kind(name="modred",
         description="x mod q for a named or given modulus: lut, iterative, hybrid (ALLMod), "
                     "barrett, montgomery, special, or auto (cheapest by the cost model)",
         params=ReducerParams, build=ModReducer, vectors=golden.vectors),
    Kind(name="modmul",
         description="a·b mod q: a multiplier streaming into a modred reducer",
         params=ModMulParams, build=ModMul, vectors=golden.modmul_vectors),
]
