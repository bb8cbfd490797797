"""Analytical area of the bit-serial MAC family, calibrated against Yosys by ``hwgen calibrate``.

Area is linear in hardware counts that follow from the parameters (the structure of
:mod:`hwgen.cores.bitserial`), with weights fitted by non-negative least squares to a sweep's
synthesis results (``hwgen calibrate bitserial designs/sweeps/bitserial_precision_lanes.yaml``)
and stored in ``hwgen/cost/bitserial.json``. Throughput needs no fitting: it is the
component's declared ``macs_per_cycle``.

The counts:

* ``lane_bits``: lanes × beat-sum width — each lane's term and its share of the adder tree;
* ``digit_select_bits`` (bit-serial): lanes × weight bits, the multiplexers that pick the
  current digits of every code;
* ``booth_bits`` (``booth4``, and ``multiplier: booth``): lanes × beat-sum width × digits per
  cycle, the ±A/±2A selection of the Booth digits;
* ``mul_bits`` (``multiplier: array``): lanes × activation bits × weight bits, partial-product
  bits;
* ``bitmod_lanes``: lanes decoding BitMoD codes through the per-group data-type table;
* ``scale_mul_bits``: group-sum width × scale bits, the per-group dequantizing multiplier;
* ``acc_bits``: the dot-product accumulator and its output register;
* ``const``: the control every configuration has.
"""
from hwgen import registry
from hwgen.cost.model import LinearCostModel
from hwgen.golden import bitserial as golden
from hwgen.golden.arith import signed_width

__all__ = ["METRICS", "features", "MODEL"]

METRICS = ("generic.ge", "ice40.lut4", "ecp5.lut4")


def features(kind, params):
    """Hardware counts of ``kind`` built with the parameter mapping ``params``."""
    p = registry.lookup(kind).params.from_mapping(dict(params), kind=kind)
    beat_bound = golden.beat_sum_bound(p)
    sum_width = signed_width(-beat_bound, beat_bound)
    group_bound = beat_bound * p.beats_per_group
    counts = {
        "const": 1,
        "lane_bits": p.lanes * sum_width,
        "scale_mul_bits": signed_width(-group_bound, group_bound) * p.scale_bits,
        "acc_bits": p.acc_bits,
    }
    if p.weight_format == "bitmod":
        counts["bitmod_lanes"] = p.lanes
    if kind == "bitserial_dot":
        if not p.planes:  # digit planes arrive selected
            counts["digit_select_bits"] = p.lanes * p.weight_bits
        if p.digit == "booth4":
            counts["booth_bits"] = p.lanes * sum_width * p.digits_per_cycle
    elif p.multiplier == "booth":
        counts["booth_bits"] = p.lanes * sum_width * -(-(p.weight_bits + 1) // 2)
    else:
        counts["mul_bits"] = p.lanes * p.act_bits * p.weight_bits
    return counts


MODEL = LinearCostModel("bitserial", features, METRICS)
