"""Bit-plane LUT family: 1- to 4-bit weights (a runtime precision) through shared tables of
activation sums, T-MAC / LUT Tensor Core style, for integer, fp16 and bfloat16 activations."""
from hwgen.cores.bitplane.core import BitplaneCore, BitplaneLane
from hwgen.cores.bitplane.params import BitplaneParams
from hwgen.golden import bitplane as golden
from hwgen.registry import Kind

__all__ = ["BitplaneCore", "BitplaneLane", "BitplaneParams", "KINDS"]

KINDS = [
    Kind(name="lut_bitplane_dot",
         description="multi-bit weights as bit planes through shared tables of µ-activation "
                     "sums, per-group scale (T-MAC / LUT Tensor Core)",
         params=BitplaneParams, build=BitplaneCore, vectors=golden.vectors),
]
