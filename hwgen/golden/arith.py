"""Integer facts shared by the golden models, the cost models and the cores."""

__all__ = ["signed_width"]


def signed_width(lo, hi):
    """Bits of the smallest two's complement shape holding every integer in ``[lo, hi]``."""
    return max((-lo - 1).bit_length() if lo < 0 else 0, hi.bit_length()) + 1
