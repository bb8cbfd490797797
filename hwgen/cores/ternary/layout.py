"""Stream payloads shared by the three ternary kinds (they have the same streams)."""
from amaranth import signed, unsigned
from amaranth.lib import data

from hwgen.golden import ternary as golden

__all__ = ["activation_shape", "result_shape", "weight_layout", "lane_weight_layout",
           "input_layout", "output_layout"]


def activation_shape(p):
    """``signed(act_bits)`` for integers; the 16-bit pattern for floats."""
    return unsigned(p.act_bits) if p.is_float else signed(p.act_bits)


def result_shape(p):
    return unsigned(p.acc_bits) if p.is_float else signed(p.acc_bits)


def weight_layout(p, weight_format=None):
    """Codes of one beat in ``weight_format`` (default ``p.weight_format``): ``[lane][code]``."""
    return data.ArrayLayout(lane_weight_layout(p, weight_format), p.lanes)


def lane_weight_layout(p, weight_format=None):
    """Codes of one lane and beat in ``weight_format`` (default ``p.weight_format``); values of
    the activation type in a value format."""
    weight_format = weight_format or p.weight_format
    if golden.is_value_format(weight_format):
        return data.ArrayLayout(activation_shape(p), p.reduction)
    count = {"key": p.n_tables, "code2": p.reduction, "base3": -(-p.reduction // 5)}
    bits = {"key": golden.key_bits(p.mu), "code2": 2, "base3": 8}
    return data.ArrayLayout(unsigned(bits[weight_format]), count[weight_format])


def input_layout(p):
    """``a``: L·µ activations; ``w``: every lane's weights; ``last``: ends the dot product."""
    return data.StructLayout({
        "a": data.ArrayLayout(activation_shape(p), p.reduction),
        "w": weight_layout(p),
        "last": 1,
    })


def output_layout(p):
    """``y``: one result per lane; ``err``: per lane, an invalid weight code was seen."""
    return data.StructLayout({
        "y": data.ArrayLayout(result_shape(p), p.lanes),
        "err": data.ArrayLayout(1, p.lanes),
    })
