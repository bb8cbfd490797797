"""Analytical area and throughput of the ternary cores, calibrated against Yosys.

Area, in generic CMOS gate equivalents (``generic.ge``) and iCE40 LUT4 cells
(``ice40.lut4``), is linear in hardware counts that follow from the parameters alone (the
structure of :mod:`hwgen.cores.ternary`), ``metric ≈ Σ weight · count``, with one weight per
count and metric fitted by non-negative least squares to Yosys results
(``python bench/ternary_cost.py --fit``) and stored in ``hwgen/cost/ternary.json``.
Throughput needs no fitting: every core takes one beat per cycle, ``lanes · L · µ`` MACs.

The counts (per core):

* ``int_adder_bits``: bits of integer adders — half-table entries, reduction trees (terms
  widen one bit per level), the sign-correction popcount, the accumulators;
* ``fp_adders``, ``fp_multipliers``: IEEE units;
* ``mux_bits``: bits of the table fetch multiplexers, ``H`` two-input multiplexers per
  fetched bit (an ``(H+1)``-entry table with the zero entry);
* ``select_bits``: bits that a weight selects as ``+v``, ``−v`` or 0;
* ``int_multiplier_bits``: partial-product bits of ``act_bits × 2`` multipliers;
* ``fp_full_multipliers``, ``int_full_multiplier_bits``: full-width multipliers fed weight
  values (``ternary_mac`` with ``weight_format`` ``fp16``/``bf16``, or ``int``:
  ``act_bits²`` partial-product bits each);
* ``flop_bits``: every register (pipeline, accumulators, outputs, handshake);
* ``decode_cases``: entries of the case tables that decode keys or base3 bytes to 2-bit codes;
* ``key_encoders``: groups whose 2-bit codes are summed into a key (LUT with code2/base3);
* ``lanes``: per-lane control (error flags, output multiplexers).
"""
import math

from hwgen import registry
from hwgen.cost.model import LinearCostModel
from hwgen.golden import ternary as golden
from hwgen.golden.arith import signed_width

__all__ = ["METRICS", "features", "throughput", "MODEL", "predict"]

METRICS = ("generic.ge", "ice40.lut4")


def _params(kind, params):
    return registry.lookup(kind).params.from_mapping(dict(params))


def _sum_width(count, act_bits):
    bound = count << (act_bits - 1)
    return signed_width(-bound, bound)


def _tree(widths):
    """``(adder bits, levels, [bits at the output of each level])`` of a balanced tree whose
    adders are one bit wider than their wider operand."""
    adder_bits, level_bits = 0, []
    while len(widths) > 1:
        pairs = [max(widths[i], widths[i + 1]) + 1 for i in range(0, len(widths) - 1, 2)]
        adder_bits += sum(pairs)
        widths = pairs + ([widths[-1]] if len(widths) % 2 else [])
        level_bits.append(sum(widths))
    return adder_bits, level_bits


def _digits(v, mu):
    return int((golden.trits_of_values([v], mu)[0] != 0).sum())


def features(kind, params):
    """Hardware counts of ``kind`` built with the parameter mapping ``params``."""
    p = _params(kind, params)
    mu, tables, lanes, n = p.mu, p.n_tables, p.lanes, p.reduction
    half = golden.half_size(mu)
    width = 16 if p.is_float else None
    counts = {"lanes": lanes, "int_adder_bits": 0, "fp_adders": 0, "fp_multipliers": 0,
              "mux_bits": 0, "select_bits": 0, "int_multiplier_bits": 0, "flop_bits": 0,
              "fp_full_multipliers": 0, "int_full_multiplier_bits": 0,
              "decode_cases": 0, "key_encoders": 0}
    flops = 0

    if p.architecture == "lut":
        entry = width or _sum_width(mu, p.act_bits)
        if p.is_float:
            counts["fp_adders"] += tables * (half - mu)
        else:
            counts["int_adder_bits"] += tables * sum(
                _sum_width(_digits(v, mu), p.act_bits) for v in range(1, half + 1)
                if v != 3 ** golden.highest_digit(v))
        counts["mux_bits"] += lanes * tables * half * entry
        counts["select_bits"] += lanes * tables * entry
        terms = [entry] * tables
        if p.pipeline.table:
            registers = max(1, mu - 1)
            flops += registers * (tables * half * entry + lanes * tables * golden.key_bits(mu))
        if p.weight_format != "key":
            counts["key_encoders"] += lanes * tables
    else:
        term = width or (p.act_bits + 2 if p.architecture == "mac" else p.act_bits)
        if p.value_weights:
            term = width or 2 * p.act_bits
            if p.is_float:
                counts["fp_full_multipliers"] += lanes * n
            else:
                counts["int_full_multiplier_bits"] += lanes * n * p.act_bits ** 2
        elif p.architecture == "mac":
            if p.is_float:
                counts["fp_multipliers"] += lanes * n
            else:
                counts["int_multiplier_bits"] += lanes * n * p.act_bits
        else:
            counts["select_bits"] += lanes * n * term
        terms = [term] * n
        if p.weight_format == "key":
            counts["decode_cases"] += lanes * tables * (1 << golden.key_bits(mu))
    if p.weight_format == "base3":
        counts["decode_cases"] += lanes * -(-n // 5) * 256

    if not p.is_float and p.architecture != "mac":
        # The count of negated terms, added back as one more tree term.
        counts["int_adder_bits"] += lanes * _tree([1] * len(terms))[0]
        terms = terms + [len(terms).bit_length()]
    if p.pipeline.fetch:
        flops += lanes * sum(terms)
    if p.is_float:
        counts["fp_adders"] += lanes * len(terms)  # the tree's len − 1 and the accumulator
        level_bits = [lanes * width * math.ceil(len(terms) / 2 ** (level + 1))
                      for level in range(math.ceil(math.log2(len(terms))))]
    else:
        adder_bits, level_bits = _tree(terms)
        counts["int_adder_bits"] += lanes * (adder_bits + p.acc_bits)
        level_bits = [lanes * bits for bits in level_bits]
    every = p.pipeline.tree_every
    if every:
        flops += sum(bits for level, bits in enumerate(level_bits, 1) if level % every == 0)
    flops += 2 * lanes * p.acc_bits + 2 * lanes + 2  # accumulators, outputs, errors, state
    counts["flop_bits"] = flops
    return counts


def throughput(kind, params):
    """MACs per cycle (one beat of ``lanes · L · µ`` multiply-accumulates per cycle)."""
    return _params(kind, params).macs_per_cycle


MODEL = LinearCostModel("ternary", features, METRICS)


def predict(kind, params):
    """Predicted ``{metric: area}`` and ``macs_per_cycle`` for one configuration."""
    return {**MODEL.predict(kind, params), "macs_per_cycle": throughput(kind, params)}
