"""Cost model of the modular-reduction family, and the choice ``method: auto`` makes.

Features are analytic counts of what a configuration's plan instantiates (see
:mod:`hwgen.golden.modred`): constant-table bits and the table output bits that need logic,
block-RAM table bits, adder and subtractor bits, final-correction bits, partial-product bits
of constant and of variable multipliers, and pipeline-register bits. The weights are fitted
to Yosys by ``bench/modred_cost.py`` and
stored in ``modred.json``.
"""
import functools
import json

import numpy as np

from hwgen.cost.model import LinearCostModel
from hwgen.golden import moduli
from hwgen.golden import modred as golden

__all__ = ["MODEL", "METRICS", "AUTO_CANDIDATES", "counts", "features", "predict",
           "candidates", "choose_method"]

METRICS = ("generic.ge", "ice40.lut4", "ecp5.lut4", "ecp5.ccu2c")
# Methods `auto` chooses from: every method whose output is x mod q (not montgomery's x·R⁻¹).
AUTO_CANDIDATES = ("lut", "hybrid", "iterative", "barrett", "special")


def _width(bound):
    return max(1, bound.bit_length())


def _logic_columns(entries, bits):
    """Distinct output bits of a constant table that need logic: not constant and not a
    copy (or inverse) of one index bit, which synthesis turns into wires."""
    size = -(-bits // 8)
    matrix = np.unpackbits(np.frombuffer(b"".join(entry.to_bytes(size, "little")
                                                  for entry in entries), dtype=np.uint8)
                           .reshape(len(entries), size), axis=1, bitorder="little")[:, :bits]
    index = np.arange(len(entries))
    trivial = {bytes(np.zeros(len(entries), np.uint8)), bytes(np.ones(len(entries), np.uint8))}
    for bit in range(_width(len(entries) - 1)):
        pattern = ((index >> bit) & 1).astype(np.uint8)
        trivial |= {bytes(pattern), bytes(1 - pattern)}
    return len({bytes(column) for column in matrix.T} - trivial)


def _table(counts, entries, storage):
    bits = _width(max(entries))
    if storage == "bram":
        counts["bram_bits"] += len(entries) * bits
        return
    index_bits = _width(len(entries) - 1)
    counts["table_bits"] += len(entries) * bits
    # A 4-input LUT per needed output bit and 16 entries: the FPGA view of a constant table.
    counts["table_lut4"] += _logic_columns(entries, bits) * -(-(1 << index_bits) // 16)


def _step(counts, step, bounds, storage):
    if isinstance(step, golden.Parallel):
        for part in step.steps:
            _step(counts, part, bounds, storage)
    elif isinstance(step, golden.Fold):
        for entries in step.tables:
            _table(counts, entries, storage)
    elif isinstance(step, golden.Horner):
        _table(counts, step.table, "bram" if step.defer else "logic")
        counts["adder_bits"] += _width(step.acc_bound)
    elif isinstance(step, golden.Add):
        for _, a, b in step.pairs:
            counts["adder_bits"] += _width(bounds[a] + bounds[b])
    elif isinstance(step, golden.MulConst):
        digits = golden.naf(step.const)
        operand = step.operand_bits(bounds)
        if len(digits) <= 4:
            # Full-width sums of the shifted terms, as the model was calibrated; const_mul now
            # adds each term only from its shift up, so this over-counts until recalibrated
            # (counting what it builds would change which method `auto` picks).
            counts["adder_bits"] += (len(digits) - 1) * (operand + step.const.bit_length())
        else:
            # Synthesis keeps a partial product per set bit of the constant.
            counts["const_mul_bits"] += operand * bin(step.const).count("1")
    elif isinstance(step, golden.Sub):
        counts["adder_bits"] += _width(step.bound)
    elif isinstance(step, golden.ShiftSub):
        # The difference of the bits above the shift, then q added back under its sign.
        counts["adder_bits"] += 2 * (_width(step.out_bounds(bounds)[step.dst]) + 1)
    elif isinstance(step, golden.Correct):
        counts["correct_bits"] += (bounds[step.src] // step.q) * _width(bounds[step.src])


def counts(plan, cuts, *, table_storage, tag_bits, multiplier_bits=0):
    """Analytic hardware counts of ``plan`` (a :class:`hwgen.golden.modred.Plan`) with pipeline
    registers after the steps ``cuts``, its tables in ``table_storage``, a ``tag_bits`` tag,
    and a ``multiplier_bits`` × ``multiplier_bits`` multiplier in front (``modmul``; 0: none)."""
    result = dict.fromkeys(("table_bits", "table_lut4", "bram_bits", "adder_bits",
                            "correct_bits", "const_mul_bits", "mul_bits", "reg_bits"), 0)
    result["const"] = 1
    for step, bounds in zip(plan.steps, plan.bounds):
        _step(result, step, bounds, table_storage)
    for cut in cuts:
        result["reg_bits"] += sum(map(_width, plan.bounds[cut + 1].values())) + tag_bits + 1
    if plan.loop:
        _step(result, plan.loop, {}, "logic")
        result["reg_bits"] += _width(plan.loop.acc_bound) + plan.loop.rest + tag_bits
    if multiplier_bits:
        result["mul_bits"] += multiplier_bits * multiplier_bits
        result["reg_bits"] += 2 * multiplier_bits + tag_bits + 1
    return result


def _resolve(kind, params):
    """``(q, in_bits, plan, cuts)`` of a full parameter mapping (``auto`` resolved)."""
    q = moduli.lookup(params["modulus"])
    in_bits = 2 * q.bit_length() if kind == "modmul" else params["in_bits"]
    k, storage = params["k"], params["table_storage"]
    method = params["method"]
    if method == "auto":
        method = choose_method(kind, q, in_bits, k, storage, params["tag_bits"])
    lut_groups, merge_level = golden.default_split(q, in_bits, k, params.get("lut_groups"),
                                                   params.get("merge_level"))
    r_bits = params.get("r_bits") or golden.default_r_bits(q, in_bits)
    plan = golden.build_plan(q, in_bits, method, k=k, lut_groups=lut_groups,
                             merge_level=merge_level, r_bits=r_bits, table_storage=storage)
    stages = params.get("stages") or len(plan.steps)
    return q, plan, golden.stage_cuts(len(plan.steps), stages,
                                      golden.forced_cuts(plan, storage))


def features(kind, params):
    """Analytic hardware counts of the ``kind`` configuration ``params``: a mapping of every
    parameter as in the manifest (derived ones may be missing or None)."""
    return dict(_features(kind, json.dumps(dict(params), sort_keys=True)))


@functools.lru_cache(maxsize=1024)
def _features(kind, params_json):
    params = json.loads(params_json)
    q, plan, cuts = _resolve(kind, params)
    return counts(plan, cuts, table_storage=params["table_storage"],
                  tag_bits=params["tag_bits"],
                  multiplier_bits=q.bit_length() if kind == "modmul" else 0)


MODEL = LinearCostModel("modred", features, METRICS)


def predict(kind, params):
    """Predicted ``{metric: value}`` plus ``cycles_per_beat`` for one configuration."""
    figures = MODEL.predict(kind, params)
    figures["cycles_per_beat"] = _resolve(kind, params)[1].cycles_per_beat
    return figures


def candidates(q, in_bits, table_storage):
    """Methods ``auto`` may choose for this modulus (those giving x mod q)."""
    methods = [method for method in AUTO_CANDIDATES
               if table_storage == "logic" or method in ("lut", "hybrid")]
    if golden.special_folds(q, in_bits) is None and "special" in methods:
        methods.remove("special")
    return methods


@functools.lru_cache(maxsize=256)
def choose_method(kind, q, in_bits, k, table_storage, tag_bits):
    """What ``method: auto`` builds: the candidate with the least predicted GE per result
    (GE × cycles per result)."""
    scores = {}
    for method in candidates(q, in_bits, table_storage):
        mapping = {"modulus": q, "in_bits": in_bits, "method": method, "k": k,
                   "table_storage": table_storage, "tag_bits": tag_bits}
        figures = predict(kind, mapping)
        scores[method] = figures["generic.ge"] * figures["cycles_per_beat"]
    return min(scores, key=scores.get)
