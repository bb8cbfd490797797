"""Cost model of the modular-reduction family, and the choice ``method: auto`` makes.

Features are counts of what a configuration's plan (see :mod:`hwgen.golden.modred`) and its
pipeline cuts build, taken bit by bit as synthesis leaves them: the pipeline flops that
survive (distinct, not constant, read later), full- and half-adder bits, table columns that
need logic, block-RAM bits, correction-select bits, partial-product bits of dense constant
multipliers and of ``modmul``'s multiplier; each logic count also times log2 of the modulus
width. The weights are fitted to Yosys by ``bench/modred_cost.py`` and stored in
``modred.json``.
"""
import functools
import json
import math

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


@functools.lru_cache(maxsize=4096)
def _columns(entries, index_bits):
    """What synthesis makes of each output bit of the constant table ``entries`` (a tuple,
    indexed by ``index_bits`` bits): ``(0, value)`` a constant, ``(1, j)`` a copy of index bit
    ``j``, ``(2, j)`` its inverse, ``(3, column)`` logic (equal columns are one net)."""
    bits = _width(max(entries))
    size = -(-bits // 8)
    matrix = np.unpackbits(np.frombuffer(b"".join(entry.to_bytes(size, "little")
                                                  for entry in entries), dtype=np.uint8)
                           .reshape(len(entries), size), axis=1, bitorder="little")[:, :bits]
    row = np.arange(len(entries))
    wires = {bytes(np.zeros(len(entries), np.uint8)): (0, 0),
             bytes(np.ones(len(entries), np.uint8)): (0, 1)}
    for bit in range(index_bits):
        pattern = ((row >> bit) & 1).astype(np.uint8)
        wires[bytes(pattern)], wires[bytes(1 - pattern)] = (1, bit), (2, bit)
    return tuple(wires.get(column, (3, column))
                 for column in map(bytes, matrix.T))


def _table(counts, entries, storage):
    bits = _width(max(entries))
    if storage == "bram":
        counts["bram_bits"] += len(entries) * bits
        return
    index_bits = _width(len(entries) - 1)
    counts["table_bits"] += len(entries) * bits
    # A 4-input LUT per distinct output bit that needs logic and 16 entries: the FPGA view
    # of a constant table.
    logic = {column for kind, column in _columns(entries, index_bits) if kind == 3}
    counts["table_lut4"] += len(logic) * -(-(1 << index_bits) // 16)


class _Netlist:
    """A bit-level view of a plan's datapath as synthesis leaves it: every bit is the
    constant 0 or 1 or a net (an int ≥ 2; equal numbers are one net, as after Yosys and ABC
    merge equal logic). Built step by step like the hardware (``hwgen/cores/modred/
    datapath.py``), it counts the pipeline flops that survive synthesis (distinct nets,
    not constant, read later) and the adder bits by how many of their three inputs are
    nets (three: a full adder; two: a half adder; fewer: a wire)."""

    def __init__(self, counts):
        self.counts = counts
        self.last = 1
        self.named = {}
        self.read = set()  # nets that some logic reads
        self.registers = []  # per pipeline register: {D net: Q net}

    def net(self, key=None):
        """A new net, or the one made before for ``key``."""
        if key in self.named:
            return self.named[key]
        self.last += 1
        if key is not None:
            self.named[key] = self.last
        return self.last

    def nets(self, width):
        return [self.net() for _ in range(width)]

    def invert(self, bit):
        if bit in (0, 1):
            return 1 - bit
        self.read.add(bit)
        return self.net(("not", bit))

    def use(self, bits):
        self.read.update(bit for bit in bits if bit not in (0, 1))

    def add(self, a, b, width, carry=0):
        """``(a + b + carry) mod 2^width``, ripple carry."""
        result = []
        for position in range(width):
            inputs = [a[position] if position < len(a) else 0,
                      b[position] if position < len(b) else 0, carry]
            nets = [bit for bit in inputs if bit not in (0, 1)]
            ones = inputs.count(1)
            if not nets:
                result.append(ones & 1)
                carry = ones >> 1
            elif len(nets) == 1 and ones != 1:
                result.append(nets[0])
                carry = ones >> 1
            elif len(nets) == 1:
                result.append(self.invert(nets[0]))
                carry = nets[0]
            else:
                self.use(nets)
                self.counts["adder_bits" if len(nets) == 3 else "half_adder_bits"] += 1
                result.append(self.net())
                carry = self.net()
        return result

    def sub(self, a, b, width):
        """``(a − b) mod 2^width``: ``a + ~b + 1``."""
        b = (b + [0] * width)[:width]
        return self.add(a, [self.invert(bit) for bit in b], width, carry=1)

    def table(self, index, entries):
        """Output bits of the constant table ``entries[index]``: constants, index bits (or
        their inverses) and one net per distinct other column."""
        self.use(index)
        result = []
        for kind, value in _columns(entries[:1 << len(index)], len(index)):
            if kind == 0:
                result.append(value)
            elif kind == 3:
                result.append(self.net(("table", tuple(index), value)))
            else:
                result.append(index[value] if kind == 1 else self.invert(index[value]))
        return result

    def register(self, lanes, widths):
        """The lanes after a pipeline register holding ``widths`` (name → bits) of them
        (the others, block-RAM reads, are registered by the RAM): one flop per net."""
        flops = {}
        after = dict(lanes)
        for name, width in widths.items():
            for bit in lanes[name][:width]:
                if bit not in (0, 1) and bit not in flops:
                    flops[bit] = self.net()
            after[name] = [flops.get(bit, bit) for bit in lanes[name][:width]]
        self.registers.append(flops)
        return after

    def live_flops(self, outputs):
        """Flops whose value some logic reads or reaches ``outputs`` (nets), last first."""
        wanted = self.read | set(outputs)
        count = 0
        for flops in reversed(self.registers):
            for d, q in flops.items():
                if q in wanted:
                    count += 1
                    wanted.add(d)
        return count


def _const_mul(netlist, value, constant, width, truncate=0):
    """Bits of ``value · constant`` below ``width`` (from column ``truncate`` up), built as
    ``datapath.const_mul`` builds them: shifts and adds for sparse constants, a sum of the NAF
    terms for dense ones wider than a DSP block, else a multiplier of partial products."""
    digits = golden.naf(constant)
    if constant and len(digits) <= golden.SPARSE_NAF_DIGITS and not truncate:
        bits = len(value) + constant.bit_length()
        total = [0] * bits
        for shift, digit in digits:
            if shift >= width:
                break
            high = (netlist.add if digit > 0 else netlist.sub)(total[shift:], value,
                                                               min(bits, width) - shift)
            total = total[:shift] + high
        return total[:width]
    netlist.use(value)
    if truncate or max(len(value), constant.bit_length()) > golden.DSP_OPERAND_BITS:
        # The terms' bits between column ``truncate`` and ``width``.
        netlist.counts["const_mul_bits"] += sum(
            max(0, min(len(value), width - shift) - max(0, truncate - shift))
            for shift, _ in digits)
        return netlist.nets(width - truncate)
    # Partial products of the set bits of the constant, up to the highest bit kept.
    netlist.counts["const_mul_bits"] += sum(max(0, min(len(value), width - shift))
                                            for shift in range(constant.bit_length())
                                            if constant >> shift & 1)
    return netlist.nets(width)


def _step(netlist, step, lanes, bounds, storage, registered):
    """The lanes ``step`` produces from ``lanes`` (bounds before it in ``bounds``)."""
    counts = netlist.counts
    if isinstance(step, golden.Parallel):
        produced, current = {}, dict(lanes)
        for part in step.steps:
            out = _step(netlist, part, current, bounds, storage, registered)
            current = {name: bits for name, bits in current.items()
                       if name not in part.consumes}
            current.update(out)
            bounds = part.out_bounds(bounds)
            produced.update(out)
        return produced
    out_widths = {name: _width(bound) for name, bound in step.out_bounds(bounds).items()}
    if isinstance(step, golden.Fold):
        x = lanes[step.src]
        result = {step.low: x[:step.pos]}
        for name, (lsb, bits), entries in zip(step.outs, step.groups, step.tables):
            _table(counts, entries, storage)
            if storage == "bram":
                registered.add(name)
                result[name] = netlist.nets(out_widths[name])
            else:
                result[name] = netlist.table(x[lsb:lsb + bits], entries)
        return result
    if isinstance(step, golden.Horner):
        v, keep = lanes[step.lane], step.rest - step.k
        _table(counts, step.table, "bram" if step.defer else "logic")
        acc_bits = _width(step.acc_bound)
        if not step.defer:
            shifted = v[keep:]
            acc = netlist.add(shifted[:step.n], netlist.table(shifted[step.n:], step.table),
                              acc_bits)
            return {step.lane: v[:keep] + acc}
        top = v[step.rest:]
        acc_in = netlist.add(top, lanes[step.pending], acc_bits) if step.pending else top
        shifted = v[keep:step.rest] + acc_in
        netlist.use(shifted[step.n:])
        registered.add(step.defer)
        return {step.lane: v[:keep] + shifted[:step.n],
                step.defer: netlist.nets(out_widths[step.defer])}
    if isinstance(step, golden.Add):
        return {dst: netlist.add(lanes[a], lanes[b], out_widths[dst])
                for dst, a, b in step.pairs}
    if isinstance(step, golden.MulConst):
        operand = lanes[step.src]
        if step.keep_bits is not None:
            operand = operand[:step.keep_bits + step.shift_in]
        width = out_widths[step.dst]
        result = {step.dst: _const_mul(netlist, operand[step.shift_in:], step.const,
                                       step.shift_out + width,
                                       step.truncate)[step.shift_out - step.truncate:]}
        if step.src_keep is not None:
            result[step.src] = lanes[step.src][:out_widths[step.src]]
        return result
    if isinstance(step, golden.Sub):
        bits = _width(step.bound)
        return {step.dst: netlist.sub(lanes[step.a][:bits], lanes[step.b][:bits], bits)}
    if isinstance(step, golden.ShiftSub):
        a, b = lanes[step.a][step.shift:], lanes[step.b][step.shift:]
        difference = netlist.sub(a, b, max(len(a), len(b)) + 1)
        addend = [difference[-1] if step.q >> bit & 1 else 0
                  for bit in range(step.q.bit_length())]
        return {step.dst: netlist.add(difference, addend, out_widths[step.dst])}
    if isinstance(step, golden.Correct):
        value = lanes[step.src]
        multiples = bounds[step.src] // step.q
        for multiple in range(1, multiples + 1):
            constant = multiple * step.q
            netlist.sub(value, [constant >> bit & 1 for bit in range(constant.bit_length())],
                        len(value) + 2)
        # A select of the candidates per result bit.
        counts["correct_bits"] += multiples * out_widths[step.dst]
        netlist.use(value)
        return {step.dst: netlist.nets(out_widths[step.dst])}
    raise TypeError(f"no cost counts for step {step!r}")  # pragma: no cover


# Counts of logic (as opposed to flops and table storage). Each also enters multiplied by
# log2 n: per counted bit, synthesis spends more gates the wider the datapath (Yosys' prefix
# adders, ABC's delay-driven mapping), which weights fitted at one size cannot carry over to
# another without it (docs/modred.md, "Cost model").
LOGIC = ("table_lut4", "adder_bits", "half_adder_bits", "correct_bits", "const_mul_bits",
         "mul_bits")
FEATURES = ("table_bits", "bram_bits", "flops", *LOGIC, *(f"{name}_log2n" for name in LOGIC))


def counts(plan, cuts, *, table_storage, tag_bits, multiplier_bits=0):
    """Analytic hardware counts of ``plan`` (a :class:`hwgen.golden.modred.Plan`) with pipeline
    registers after the steps ``cuts``, its tables in ``table_storage``, a ``tag_bits`` tag,
    and a ``multiplier_bits`` × ``multiplier_bits`` multiplier in front (``modmul``; 0: none)."""
    result = dict.fromkeys(FEATURES, 0)
    netlist = _Netlist(result)
    lanes = {name: netlist.nets(_width(bound)) for name, bound in plan.bounds[0].items()}
    registered = set()
    for index, (step, bounds) in enumerate(zip(plan.steps, plan.bounds)):
        produced = _step(netlist, step, lanes, bounds, table_storage, registered)
        lanes = {name: bits for name, bits in lanes.items() if name not in step.consumes}
        lanes.update(produced)
        if index in cuts:
            lanes = netlist.register(lanes, {name: _width(bound) for name, bound
                                             in plan.bounds[index + 1].items()
                                             if name not in registered})
    result["flops"] = netlist.live_flops(lanes["r"]) + len(cuts) * (tag_bits + 1)
    if plan.loop:
        # The iterative unit: its shared table and adder, the accumulator and the groups
        # still to shift in.
        _table(result, plan.loop.table, "logic")
        result["adder_bits"] += _width(plan.loop.acc_bound)
        result["flops"] += _width(plan.loop.acc_bound) + plan.loop.rest + tag_bits
    if multiplier_bits:
        result["mul_bits"] += multiplier_bits * multiplier_bits
        result["flops"] += 2 * multiplier_bits + tag_bits + 1
    for name in LOGIC:
        result[f"{name}_log2n"] = result[name] * math.log2(plan.n)
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
