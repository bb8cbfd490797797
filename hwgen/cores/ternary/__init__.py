"""Ternary (BitNet b1.58) matrix-vector family: the LUT core (shared half tables of signed
partial sums) and its multiplier-free and multiplier-based baselines, for integer, fp16 and
bfloat16 activations."""
from hwgen.cores.ternary.core import TernaryAddSubCore, TernaryLutCore, TernaryMacCore
from hwgen.cores.ternary.params import (AddSubParams, LutParams, LutPipelineParams, MacParams,
                                        PipelineParams, TernaryParams)
from hwgen.golden import ternary as golden
from hwgen.registry import Kind

__all__ = ["TernaryLutCore", "TernaryAddSubCore", "TernaryMacCore", "TernaryParams",
           "LutParams", "AddSubParams", "MacParams", "PipelineParams", "LutPipelineParams",
           "KINDS"]

KINDS = [
    Kind(name="ternary_lut",
         description="ternary dot products through shared half tables of µ-activation sums",
         params=LutParams, build=TernaryLutCore, vectors=golden.vectors),
    Kind(name="ternary_addsub",
         description="ternary baseline: every weight selects +a, -a or 0, adder tree per lane",
         params=AddSubParams, build=TernaryAddSubCore, vectors=golden.vectors),
    Kind(name="ternary_mac",
         description="ternary baseline: a multiplier per weight, adder tree per lane",
         params=MacParams, build=TernaryMacCore, vectors=golden.vectors),
]
