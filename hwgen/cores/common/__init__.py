"""Building blocks shared by the core families."""
from hwgen.cores.common.arith import adder_tree, popcount, signed_width

__all__ = ["adder_tree", "popcount", "signed_width"]
