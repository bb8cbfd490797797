"""Bit-serial MAC family (after BitMoD): grouped, scaled dot products whose weights are
consumed a few bits or radix-4 Booth digits per cycle, and the bit-parallel baseline."""
from hwgen.cores.bitserial.dot import BitParallelDot, BitSerialDot
from hwgen.cores.bitserial.params import BitParallelParams, BitSerialParams, DotParams
from hwgen.golden import bitserial as golden
from hwgen.registry import Kind

__all__ = ["BitSerialDot", "BitParallelDot", "BitSerialParams", "BitParallelParams", "DotParams",
           "KINDS"]

KINDS = [
    Kind(name="bitserial_dot",
         description="grouped, scaled dot product; weights a few bits or Booth digits per cycle",
         params=BitSerialParams, build=BitSerialDot, vectors=golden.vectors),
    Kind(name="bitparallel_dot",
         description="multiplier-per-lane baseline of bitserial_dot, one beat per cycle",
         params=BitParallelParams, build=BitParallelDot, vectors=golden.vectors),
]
