"""Golden model of the modular-reduction family: ``x mod q`` and the datapath of every method.

The specification is one line: ``r = x % q`` (``montgomery``: ``r = x · R⁻¹ mod q``). The rest
of this module describes *how* each method computes it, as a :class:`Plan`: a list of steps
on named values ("lanes"), each lane with an inclusive upper bound. The hardware builds its
registers from exactly these bounds (a lane is ``bound.bit_length()`` bits wide), and
:meth:`Plan.run` executes the same steps on Python ints, asserting at every step that every
value lies in ``[0, bound]`` and that every exact division is exact. So a bound that is too
small fails the bit-accurate model before it can truncate a register.

Steps:

* :class:`Fold` — split a lane at bit ``pos``; the fields above it index constant tables
  ``T_j[g] = (g · 2^lsb_j) mod q``; the low part and the table outputs become lanes;
* :class:`Horner` — one most-significant-group-first step of the iterative method on a lane
  ``v = acc · 2^rest + rest_bits``: shift the next ``k`` bits into ``acc`` and fold the bits
  above ``n`` through the shared table ``T[t] = (t · 2^n) mod q``;
* :class:`Add` — pairwise sums (one adder-tree level);
* :class:`MulConst`, :class:`Sub` — Barrett, Montgomery and special-form arithmetic;
* :class:`ShiftSub` — Montgomery's exact division ``(x − m·q) / R``, plus ``q`` when negative;
* :class:`Correct` — the final ``v mod q`` for ``v < c·q`` by ``c − 1`` parallel subtractions;
* :class:`Parallel` — independent steps on disjoint lanes in the same pipeline step.

No hardware imports: this module is used by the hardware, the tests and the cost model.
"""
import dataclasses
import functools
import random

from hwgen.golden import moduli

__all__ = [
    "METHODS", "MAX_SPECIAL_FOLDS", "SPARSE_NAF_DIGITS", "DSP_OPERAND_BITS", "reduce", "montgomery_reduce", "expected", "naf",
    "Step", "Fold", "Horner", "Add", "MulConst", "Sub", "ShiftSub", "Correct", "Parallel", "Plan",
    "build_plan", "default_split", "default_r_bits", "stage_cuts", "forced_cuts", "horner_table", "horner_acc_bound", "hybrid_groups", "barrett_shifts",
    "barrett_truncation", "barrett_remainder_bound", "special_constant", "special_folds", "worst_table_input",
    "edge_inputs", "random_inputs", "vectors", "modmul_pairs", "modmul_vectors",
]

METHODS = ("lut", "iterative", "hybrid", "barrett", "montgomery", "special")
MAX_SPECIAL_FOLDS = 4
# Constants with at most this many non-zero NAF digits are multiplied by shifts and adds (in
# the hardware, and so in the cost model); denser ones are left to Yosys (and DSP blocks).
SPARSE_NAF_DIGITS = 4
# The widest operands of an FPGA multiplier block (ECP5 MULT18X18D); a product that fits one
# is left whole to ``*``.
DSP_OPERAND_BITS = 18


def reduce(x, q):
    return x % q


def montgomery_reduce(x, q, r_bits):
    """``x · R⁻¹ mod q`` for ``R = 2^r_bits``."""
    return x * pow(1 << r_bits, -1, q) % q


def expected(x, q, method, r_bits):
    """The value the reducer must output for input ``x``."""
    return montgomery_reduce(x, q, r_bits) if method == "montgomery" else x % q


def naf(constant):
    """Non-adjacent form of ``constant ≥ 0``: ``[(shift, ±1), ...]``, Σ ±2^shift = constant."""
    digits, shift = [], 0
    while constant:
        if constant & 1:
            digit = 2 - (constant & 3)
            digits.append((shift, digit))
            constant -= digit
        constant >>= 1
        shift += 1
    return digits


def _check(name, value, bound):
    assert 0 <= value <= bound, f"lane {name}: {value} outside [0, {bound}]"


class Step:
    """One combinational step: ``bounds(in) -> out`` at plan time, ``apply(values)`` at run time."""
    consumes = ()

    def out_bounds(self, bounds):
        raise NotImplementedError  # pragma: no cover - abstract

    def apply(self, values):
        raise NotImplementedError  # pragma: no cover - abstract

    def run(self, values, bounds_in, bounds_out):
        produced = self.apply(values)
        result = {name: value for name, value in values.items() if name not in self.consumes}
        result.update(produced)
        assert set(result) == set(bounds_out), (sorted(result), sorted(bounds_out))
        for name, value in result.items():
            _check(name, value, bounds_out[name])
        return result


def _passthrough(step, bounds):
    return {name: bound for name, bound in bounds.items() if name not in step.consumes}


@dataclasses.dataclass
class Fold(Step):
    """``src`` → ``low = src mod 2^pos`` and ``out_j = T_j[field_j]``, field ``j`` the bits
    ``[lsb_j, lsb_j + width_j)`` of ``src`` and ``T_j[g] = (g · 2^lsb_j) mod q``.

    Tables only hold the entries the bound of ``src`` can reach.
    """
    src: str
    low: str
    outs: tuple
    pos: int
    groups: tuple  # (lsb, width) per table
    q: int
    src_bound: int

    def __post_init__(self):
        self.consumes = (self.src,)
        self.tables = []
        for lsb, width in self.groups:
            reach = min((1 << width) - 1, self.src_bound >> lsb)
            self.tables.append(tuple((g << lsb) % self.q for g in range(reach + 1)))

    def out_bounds(self, bounds):
        result = _passthrough(self, bounds)
        result[self.low] = min(bounds[self.src], (1 << self.pos) - 1)
        for name, table in zip(self.outs, self.tables):
            result[name] = max(table)
        return result

    def apply(self, values):
        x = values[self.src]
        result = {self.low: x & ((1 << self.pos) - 1)}
        for name, (lsb, width), table in zip(self.outs, self.groups, self.tables):
            result[name] = table[(x >> lsb) & ((1 << width) - 1)]
        return result

    def worst_fields(self):
        """The field value of each group that gives its table's largest entry."""
        return [max(range(len(table)), key=table.__getitem__) for table in self.tables]


def horner_table(q, k, acc_bound):
    """The iterative method's shared table ``T[t] = (t · 2^n) mod q`` for every ``t`` that
    ``(acc · 2^k + g) >> n`` can reach when ``acc ≤ acc_bound``."""
    n = q.bit_length()
    reach = ((acc_bound << k) | ((1 << k) - 1)) >> n
    return tuple((t << n) % q for t in range(reach + 1))


def horner_acc_bound(q, k):
    """Largest accumulator value of the iterative method: the fixed point of
    ``acc' ≤ (2^n − 1) + max T`` starting from ``2^n − 1``; it is below ``2^n + q``."""
    n = q.bit_length()
    bound = (1 << n) - 1
    while True:
        following = (1 << n) - 1 + max(horner_table(q, k, bound))
        if following <= bound:
            return bound
        bound = following


@dataclasses.dataclass
class Horner(Step):
    """One iterative step on lane ``v = acc · 2^rest + low`` (``low`` < 2^rest):
    ``s = acc · 2^k + (next k bits)``, ``acc' = (s mod 2^n) + T[s >> n]``,
    ``v' = acc' · 2^(rest−k) + (the bits still below)``.

    With block-RAM tables the addition waits for the registered table read: ``defer`` names
    the lane that receives ``T[s >> n]`` (then ``acc' = s mod 2^n``), and the next step names
    it ``pending``: its ``acc`` is ``(v >> rest) + pending``.
    """
    lane: str
    rest: int
    k: int
    q: int
    pending: str = None
    defer: str = None

    def __post_init__(self):
        self.consumes = (self.lane,) + ((self.pending,) if self.pending else ())
        self.n = self.q.bit_length()
        self.acc_bound = horner_acc_bound(self.q, self.k)
        self.table = horner_table(self.q, self.k, self.acc_bound)

    def out_bounds(self, bounds):
        acc_in = (bounds[self.lane] >> self.rest) + (bounds[self.pending] if self.pending else 0)
        assert acc_in <= self.acc_bound, "accumulator enters a Horner step above its bound"
        result = _passthrough(self, bounds)
        keep = self.rest - self.k
        acc_out = (1 << self.n) - 1 if self.defer else self.acc_bound
        result[self.lane] = (acc_out << keep) | ((1 << keep) - 1)
        if self.defer:
            result[self.defer] = max(self.table)
        return result

    def apply(self, values):
        v = values[self.lane]
        keep = self.rest - self.k
        acc_in = (v >> self.rest) + (values[self.pending] if self.pending else 0)
        s = (acc_in << self.k) | ((v >> keep) & ((1 << self.k) - 1))
        looked_up = self.table[s >> self.n]
        acc = s & ((1 << self.n) - 1)
        result = {}
        if self.defer:
            result[self.defer] = looked_up
        else:
            acc += looked_up
        _check(f"{self.lane}.acc", acc, self.acc_bound)
        result[self.lane] = (acc << keep) | (v & ((1 << keep) - 1))
        return result


@dataclasses.dataclass
class Add(Step):
    """``dst = a + b`` for each ``(dst, a, b)``."""
    pairs: tuple

    def __post_init__(self):
        self.consumes = tuple(name for _, a, b in self.pairs for name in (a, b))

    def out_bounds(self, bounds):
        result = _passthrough(self, bounds)
        for dst, a, b in self.pairs:
            result[dst] = bounds[a] + bounds[b]
        return result

    def apply(self, values):
        result = {}
        for dst, a, b in self.pairs:
            result[dst] = values[a] + values[b]
        return result


@dataclasses.dataclass
class MulConst(Step):
    """``dst = (((src mod 2^src_bits) >> shift_in) · const >> shift_out) mod 2^keep_bits``.

    ``src`` is replaced by ``src mod 2^src_keep`` (``None``: dropped; 0: kept whole).

    ``truncate`` > 0 leaves the product's lowest ``truncate`` columns uncomputed: of each
    term ``±operand · 2^shift`` of the constant's NAF only the part at and above column
    ``truncate`` is added, a positive term floored and a negative one complemented
    (``−⌊operand · 2^shift / 2^truncate⌋ − 1``: its dropped bits' borrow is taken whole, with
    no zero test), and a zero operand gives zero. The sum is below the exact product by less
    than two units per term, never above it.
    """
    dst: str
    src: str
    const: int
    shift_in: int = 0
    shift_out: int = 0
    keep_bits: int = None
    src_keep: int = None
    truncate: int = 0

    def __post_init__(self):
        self.consumes = (self.src,)
        assert 0 <= self.truncate <= self.shift_out, "truncate must be within shift_out"

    def _operand_bound(self, bound):
        if self.keep_bits is not None:
            bound = min(bound, (1 << (self.keep_bits + self.shift_in)) - 1)
        return bound >> self.shift_in

    def out_bounds(self, bounds):
        result = _passthrough(self, bounds)
        product = (self._operand_bound(bounds[self.src]) * self.const) >> self.shift_out
        if self.keep_bits is not None:
            product = min(product, (1 << self.keep_bits) - 1)
        result[self.dst] = product
        if self.src_keep is not None:
            result[self.src] = (bounds[self.src] if self.src_keep == 0 else
                                min(bounds[self.src], (1 << self.src_keep) - 1))
        return result

    def operand_bits(self, bounds):
        return self._operand_bound(bounds[self.src]).bit_length()

    def apply(self, values):
        x = values[self.src]
        if self.keep_bits is not None:
            x &= (1 << (self.keep_bits + self.shift_in)) - 1
        operand = x >> self.shift_in
        columns = sum(_truncated_term(operand, shift, digit, self.truncate)
                      for shift, digit in naf(self.const)) if operand else 0
        product = columns >> (self.shift_out - self.truncate)
        if self.keep_bits is not None:
            product &= (1 << self.keep_bits) - 1
        result = {self.dst: product}
        if self.src_keep is not None:
            result[self.src] = values[self.src] if self.src_keep == 0 else (
                values[self.src] & ((1 << self.src_keep) - 1))
        return result


def _truncated_term(operand, shift, digit, truncate):
    """One NAF term of :class:`MulConst` at ``2^truncate`` columns."""
    if shift >= truncate:
        return digit * (operand << (shift - truncate))
    kept = operand >> (truncate - shift)
    return kept if digit > 0 else ~kept


@dataclasses.dataclass
class Sub(Step):
    """``dst = (a − b) mod 2^bound.bit_length()``, where the exact difference is known to lie
    in ``[0, bound]`` (asserted on the full-width values)."""
    dst: str
    a: str
    b: str
    bound: int

    def __post_init__(self):
        self.consumes = (self.a, self.b)

    def out_bounds(self, bounds):
        result = _passthrough(self, bounds)
        result[self.dst] = self.bound
        return result

    def apply(self, values):
        bits = self.bound.bit_length()
        return {self.dst: (values[self.a] - values[self.b]) & ((1 << bits) - 1)}


@dataclasses.dataclass
class ShiftSub(Step):
    """``dst = (a − b) / 2^shift``, plus ``q`` when that is negative, where ``a − b`` is a
    multiple of ``2^shift`` (asserted) and ``b < q · 2^shift``: the result lies in
    ``[0, max(q − 1, a / 2^shift)]``."""
    dst: str
    a: str
    b: str
    shift: int
    q: int

    def __post_init__(self):
        self.consumes = (self.a, self.b)

    def out_bounds(self, bounds):
        assert bounds[self.b] < self.q << self.shift, f"{self.b} may reach q·2^{self.shift}"
        result = _passthrough(self, bounds)
        result[self.dst] = max(self.q - 1, bounds[self.a] >> self.shift)
        return result

    def apply(self, values):
        difference = values[self.a] - values[self.b]
        assert difference % (1 << self.shift) == 0, f"{difference} not divisible"
        quotient = difference >> self.shift
        return {self.dst: quotient + self.q if quotient < 0 else quotient}


@dataclasses.dataclass
class Correct(Step):
    """``dst = src mod q`` for ``src ≤ bound < c·q``: ``src − j·q``, the largest j that fits."""
    src: str
    dst: str
    q: int

    def __post_init__(self):
        self.consumes = (self.src,)

    def candidates(self, bounds):
        return bounds[self.src] // self.q + 1

    def out_bounds(self, bounds):
        result = _passthrough(self, bounds)
        result[self.dst] = self.q - 1
        return result

    def apply(self, values):
        return {self.dst: values[self.src] % self.q}


@dataclasses.dataclass
class Parallel(Step):
    """Several steps on disjoint lanes at once."""
    steps: tuple

    def __post_init__(self):
        self.consumes = tuple(name for step in self.steps for name in step.consumes)

    def out_bounds(self, bounds):
        result = dict(bounds)
        for step in self.steps:
            result = step.out_bounds(result)
        return result

    def apply(self, values):
        result = {}
        current = dict(values)
        for step in self.steps:
            produced = step.apply(current)
            current = {name: value for name, value in current.items()
                       if name not in step.consumes}
            current.update(produced)
            result.update(produced)
        return result


class Plan:
    """A method's datapath: the input lane ``x`` (bound ``2^in_bits − 1``), then ``steps``.

    ``loop`` (iterative method) is a :class:`Horner` step that one hardware unit applies
    ``loop_count`` times before the feed-forward ``steps``. ``bounds[i]`` are the lane bounds
    before step ``i`` (``bounds[-1]``: the final ``{"r": q − 1}``).
    """

    def __init__(self, q, in_bits, method, steps, *, loop_count=0, loop_k=0, r_bits=None,
                 audit=None):
        self.q, self.in_bits, self.method = q, in_bits, method
        self.audit = audit
        self.n = q.bit_length()
        self.steps = list(steps)
        self.loop_count = loop_count
        self.loop = Horner("x", loop_count * loop_k, loop_k, q) if loop_count else None
        self.r_bits = r_bits
        start = {"x": (1 << in_bits) - 1}
        if self.loop:
            # The unit's accumulator register holds acc < 2^n + q; the first step enters
            # with the top in_bits − loop_count·k bits of x (fewer than n + 1).
            assert (start["x"] >> self.loop.rest) <= self.loop.acc_bound
            start = {"x": self.loop.acc_bound}
        self.bounds = [start]
        for step in self.steps:
            self.bounds.append(step.out_bounds(self.bounds[-1]))
        assert self.bounds[-1] == {"r": q - 1}, self.bounds[-1]

    def run(self, x):
        """The bit-accurate result for ``x``, asserting every intermediate bound."""
        _check("x", x, (1 << self.in_bits) - 1)
        values = {"x": x}
        if self.loop:
            v, rest = x, self.loop.rest
            for _ in range(self.loop_count):
                step = Horner("x", rest, self.loop.k, self.q)
                v = step.apply({"x": v})["x"]
                rest -= self.loop.k
            values = {"x": v}
            _check("x", v, self.loop.acc_bound)
        for step, bounds_in, bounds_out in zip(self.steps, self.bounds, self.bounds[1:]):
            values = step.run(values, bounds_in, bounds_out)
            if self.audit:
                self.audit(x, values)
        return values["r"]

    @property
    def cycles_per_beat(self):
        return max(1, self.loop_count)


class _Names:
    def __init__(self):
        self.count = 0

    def __call__(self, prefix):
        self.count += 1
        return f"{prefix}{self.count}"


def _tree_levels(lanes, names):
    """Adder-tree levels summing ``lanes`` to one lane: a list of pair tuples per level."""
    levels = []
    while len(lanes) > 1:
        pairs = tuple((names("s"), lanes[i], lanes[i + 1]) for i in range(0, len(lanes) - 1, 2))
        levels.append(pairs)
        lanes = [dst for dst, _, _ in pairs] + ([lanes[-1]] if len(lanes) % 2 else [])
    return levels, lanes[0]


def _groups(lo, hi, k):
    """``(lsb, width)`` of the ``k``-bit groups covering bits ``[lo, hi)``."""
    return tuple((lsb, min(k, hi - lsb)) for lsb in range(lo, hi, k))


def _fold_to_range(q, lane, bound, k, names, steps):
    """Folds of the bits above n (groups of k) until ``lane < 2^(n+1)``; returns the lane."""
    n = q.bit_length()
    while bound >> (n + 1):
        groups = _groups(n, bound.bit_length(), k)
        fold = Fold(lane, names("l"), tuple(names("t") for _ in groups), n, groups, q, bound)
        steps.append(fold)
        bounds = fold.out_bounds({lane: bound})
        levels, lane = _tree_levels([fold.low, *fold.outs], names)
        for pairs in levels:
            steps.append(Add(pairs))
            bounds = Add(pairs).out_bounds(bounds)
        bound = bounds[lane]
    return lane, bound


def _finish(q, lane, bound, k, names, steps):
    lane, bound = _fold_to_range(q, lane, bound, k, names, steps)
    steps.append(Correct(lane, "r", q))
    return steps


def hybrid_groups(q, in_bits, k):
    """Number of ``k``-bit groups above the modulus width (``G``)."""
    return -(-(in_bits - q.bit_length()) // k)


def _lut_plan(q, in_bits, k):
    names = _Names()
    return Plan(q, in_bits, "lut", _finish(q, "x", (1 << in_bits) - 1, k, names, []))


def _iterative_plan(q, in_bits, k):
    names = _Names()
    count = hybrid_groups(q, in_bits, k)
    start = horner_acc_bound(q, k) if count else (1 << in_bits) - 1
    steps = _finish(q, "x", start, k, names, [])
    return Plan(q, in_bits, "iterative", steps, loop_count=count, loop_k=k)


def _hybrid_plan(q, in_bits, k, lut_groups, merge_level, deferred):
    """``lut_groups`` top groups through parallel tables, the others through an unrolled
    iterative chain (one group per step); the chain's result joins the table adder tree
    once the chain has finished and the tree has done ``merge_level`` of its levels.
    ``deferred`` (block-RAM chain tables): each chain step's table read is added in the next
    step, the last one joins the tree as a lane of its own."""
    n = q.bit_length()
    names = _Names()
    chain_groups = hybrid_groups(q, in_bits, k) - lut_groups
    split = n + chain_groups * k  # bits [split, in_bits) go to the tables
    steps, lanes, chain_lane = [], [], "x"
    bounds = {"x": (1 << in_bits) - 1}
    if lut_groups:
        groups = _groups(split, in_bits, k)
        fold = Fold("x", "y", tuple(names("t") for _ in groups), split, groups, q, bounds["x"])
        steps.append(fold)
        bounds = fold.out_bounds(bounds)
        lanes, chain_lane = list(fold.outs), "y"
    rest, level, merged, pending = chain_groups * k, 0, False, None
    while True:
        if not merged and not rest and (level >= merge_level or len(lanes) <= 1):
            lanes.extend([chain_lane, pending] if pending else [chain_lane])
            merged = True
        parts = []
        if rest:
            defer = names("p") if deferred else None
            parts.append(Horner(chain_lane, rest, k, q, pending=pending, defer=defer))
            pending = defer
            rest -= k
        if len(lanes) > 1 and (merged or level < merge_level):
            pairs = tuple((names("s"), lanes[i], lanes[i + 1])
                          for i in range(0, len(lanes) - 1, 2))
            lanes = [dst for dst, _, _ in pairs] + ([lanes[-1]] if len(lanes) % 2 else [])
            parts.append(Add(pairs))
            level += 1
        if not parts:
            if merged:
                break
            continue
        step = parts[0] if len(parts) == 1 else Parallel(tuple(parts))
        steps.append(step)
        bounds = step.out_bounds(bounds)
    return Plan(q, in_bits, "hybrid", _finish(q, lanes[0], bounds[lanes[0]], k, names, steps))


def barrett_shifts(q, in_bits):
    """``(s1, s2)`` of ``q̂ = ((x >> s1) · μ) >> s2``, ``μ = ⌊2^(s1+s2) / q⌋``: two guard
    bits on each side, so that the remainder stays below ``2q``."""
    n = q.bit_length()
    s1 = max(n - 2, 0)
    return s1, in_bits + 2 - s1


def barrett_remainder_bound(q, in_bits):
    """Largest ``x − q̂·q``: below ``q + q·x/2^(s1+s2) + 2^s1``, because
    ``x/q − q̂ < 1 + x/2^(s1+s2) + 2^s1/q``; one ``q`` more when the quotient's product is
    truncated (:func:`barrett_truncation`)."""
    s1, s2 = barrett_shifts(q, in_bits)
    x_max = (1 << in_bits) - 1
    truncation_loss = q if barrett_truncation(q, in_bits) else 0
    return q + ((q * x_max) >> (s1 + s2)) + (1 << s1) + truncation_loss


def barrett_truncation(q, in_bits):
    """Low columns of ``(x >> s1) · μ`` that Barrett's quotient leaves uncomputed: none for a
    sparse μ, whose shifts and adds are cheap whole, nor for a product that fits one FPGA
    multiplier block (:data:`DSP_OPERAND_BITS`), which ``*`` maps there.

    With ``t`` NAF terms of μ and ``g`` guard columns, ``2^g > 2t``, the truncated terms take
    less than ``2^g`` from the sum, so ``q̂`` comes out low by at most one; two more columns
    keep the sum positive for every non-zero operand (``μ ≥ 2^(s2−2) > 2t · 2^truncate``)."""
    s1, s2 = barrett_shifts(q, in_bits)
    mu = (1 << (s1 + s2)) // q
    terms = len(naf(mu))
    if terms <= SPARSE_NAF_DIGITS or max(in_bits - s1, mu.bit_length()) <= DSP_OPERAND_BITS:
        return 0
    return max(0, s2 - (2 * terms).bit_length() - 2)


def _barrett_plan(q, in_bits):
    s1, s2 = barrett_shifts(q, in_bits)
    mu = (1 << (s1 + s2)) // q
    bound = barrett_remainder_bound(q, in_bits)
    bits = bound.bit_length()
    steps = [
        MulConst("qhat", "x", mu, shift_in=s1, shift_out=s2, src_keep=bits,
                 truncate=barrett_truncation(q, in_bits)),
        MulConst("qq", "qhat", q, keep_bits=bits),
        Sub("v", "x", "qq", bound),
        Correct("v", "r", q),
    ]

    def audit(x, values):
        # The registers only keep the low bits; the full remainder must be in [0, bound].
        if "qhat" in values:
            assert 0 <= x - values["qhat"] * q <= bound, f"Barrett remainder of {x} out of range"
    return Plan(q, in_bits, "barrett", steps, audit=audit)


def _montgomery_plan(q, in_bits, r_bits):
    # The signed form (as in the Kyber and Dilithium reference code): m = x·q⁻¹ mod R, so
    # x − m·q is a multiple of R. Its low bits cancel and borrow nothing, and the quotient
    # lies in (−q, x/R]: one addition of q gated by its sign corrects it, with no select.
    # For an NTT prime (q ≡ 1 mod 4) q⁻¹'s lowest NAF digit is +1, so m needs no negation.
    steps = [
        MulConst("m", "x", pow(q, -1, 1 << r_bits), keep_bits=r_bits, src_keep=0),
        MulConst("t", "m", q),
    ]
    if ((1 << in_bits) - 1) >> r_bits < q:
        steps.append(ShiftSub("r", "x", "t", r_bits, q))
    else:  # a small R: the quotient may exceed q
        steps += [ShiftSub("v", "x", "t", r_bits, q), Correct("v", "r", q)]
    return Plan(q, in_bits, "montgomery", steps, r_bits=r_bits)


def special_constant(q):
    """``c = 2^n − q`` of the form ``q = 2^n − c``."""
    return (1 << q.bit_length()) - q


def special_folds(q, in_bits):
    """Folds ``v → (v mod 2^n) + (v >> n)·c`` needed to bring ``2^in_bits − 1`` below ``3q``,
    or ``None`` if more than :data:`MAX_SPECIAL_FOLDS` are needed (c too large)."""
    n, c = q.bit_length(), special_constant(q)
    bound, folds = (1 << in_bits) - 1, 0
    while bound >= 3 * q:
        following = min(bound, (1 << n) - 1) + (bound >> n) * c
        if following >= bound or folds == MAX_SPECIAL_FOLDS:
            return None
        bound, folds = following, folds + 1
    return folds


def _special_plan(q, in_bits):
    n, c = q.bit_length(), special_constant(q)
    steps = []
    for fold in range(special_folds(q, in_bits)):
        steps.append(MulConst("hc", "x", c, shift_in=n, src_keep=n))
        steps.append(Add((("x", "x", "hc"),)))
    steps.append(Correct("x", "r", q))
    return Plan(q, in_bits, "special", steps)


@functools.lru_cache(maxsize=256)
def build_plan(q, in_bits, method, *, k=4, lut_groups=0, merge_level=0, r_bits=None,
               table_storage="logic"):
    """The :class:`Plan` of ``method`` for modulus ``q`` and inputs below ``2^in_bits``
    (cached: a plan is never modified once built). ``table_storage="bram"`` defers the
    hybrid chain's additions past the registered table reads."""
    q = moduli.lookup(q)
    if method == "lut":
        return _lut_plan(q, in_bits, k)
    if method == "iterative":
        return _iterative_plan(q, in_bits, k)
    if method == "hybrid":
        return _hybrid_plan(q, in_bits, k, lut_groups, merge_level, table_storage == "bram")
    if method == "barrett":
        return _barrett_plan(q, in_bits)
    if method == "montgomery":
        return _montgomery_plan(q, in_bits, r_bits)
    if method == "special":
        return _special_plan(q, in_bits)
    raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")


def default_split(q, in_bits, k, lut_groups=None, merge_level=None):
    """``(lut_groups, merge_level)`` of a hybrid, the ones not given filled in: half of the
    groups above the modulus through tables, merged after the whole table tree."""
    if lut_groups is None:
        lut_groups = hybrid_groups(q, in_bits, k) // 2
    if merge_level is None:
        merge_level = (lut_groups - 1).bit_length() if lut_groups else 0
    return lut_groups, merge_level


def default_r_bits(q, in_bits):
    """Montgomery's ``R = 2^r_bits`` when not given: large enough that one subtraction
    corrects the result."""
    n = q.bit_length()
    return max(n, in_bits - n + 1)


def forced_cuts(plan, table_storage):
    """Indices of the steps that must end a pipeline stage: block-RAM lookups (their read
    port is a register): table folds and deferred chain steps."""
    if table_storage != "bram":
        return set()

    def has_lookup(step):
        if isinstance(step, Parallel):
            return any(has_lookup(part) for part in step.steps)
        return isinstance(step, Fold) or (isinstance(step, Horner) and step.defer is not None)
    return {index for index, step in enumerate(plan.steps) if has_lookup(step)}


def stage_cuts(step_count, stages, forced=()):
    """Indices of the steps followed by a pipeline register: always the last step and every
    step in ``forced``, the rest spread evenly. Callers have checked
    ``len(forced ∪ {last}) ≤ stages ≤ step_count``."""
    fixed = set(forced) | {step_count - 1}
    free = [index for index in range(step_count - 1) if index not in fixed]
    extra = stages - len(fixed)
    chosen = [free[((2 * j + 1) * len(free)) // (2 * extra)] for j in range(extra)]
    return sorted(fixed | set(chosen))


def worst_table_input(q, in_bits, k):
    """The table worst case: every ``k``-bit group above ``n`` at the field value with the
    largest table entry ``(g · 2^lsb) mod q``, the low ``n`` bits all ones."""
    n = q.bit_length()
    groups = _groups(n, in_bits, k)
    fold = Fold("x", "l", tuple(f"t{j}" for j in range(len(groups))), n, groups, q,
                (1 << in_bits) - 1)
    x = (1 << n) - 1
    for (lsb, _), field in zip(groups, fold.worst_fields()):
        x |= field << lsb
    return x


def edge_inputs(q, in_bits, k):
    """The directed inputs of the issue, de-duplicated and in range, in a fixed order."""
    n = q.bit_length()
    top = (1 << in_bits) - 1
    largest_multiple = (top // q) * q
    candidates = [0, 1, q - 1, q, q + 1, 2 * q - 1, 2 * q, 1 << n, (1 << n) - 1,
                  (q - 1) ** 2, top, largest_multiple - 1, largest_multiple,
                  largest_multiple + 1, worst_table_input(q, in_bits, k)]
    candidates += [1 << bit for bit in range(in_bits)]
    seen, result = set(), []
    for x in candidates:
        if 0 <= x <= top and x not in seen:
            seen.add(x)
            result.append(x)
    return result


def random_inputs(q, in_bits, count, rng):
    """Uniform inputs, and inputs just around multiples of q (where corrections happen)."""
    top = (1 << in_bits) - 1
    result = []
    for index in range(count):
        if index % 3 == 2:
            x = rng.randrange(0, top // q + 1) * q + rng.randrange(-2, 3)
            result.append(min(max(x, 0), top))
        else:
            result.append(rng.getrandbits(in_bits))
    return result


def vectors(p, count, seed):
    """``modred`` stream vectors: directed inputs (all inputs when there are at most 4096),
    then ``count`` random ones; tags count up."""
    q, in_bits = p.q, p.in_bits
    if in_bits <= 12:
        inputs = list(range(1 << in_bits))
    else:
        inputs = edge_inputs(q, in_bits, p.k)
    inputs += random_inputs(q, in_bits, count, random.Random(seed))
    mask = (1 << p.tag_bits) - 1
    return {
        "inputs": {"i": [{"x": x, "tag": index & mask} for index, x in enumerate(inputs)]},
        "outputs": {"o": [{"r": expected(x, q, p.resolved_method, p.r_bits), "tag": index & mask}
                          for index, x in enumerate(inputs)]},
    }


def modmul_pairs(q, n):
    """Directed ``(a, b)`` operand pairs for a ``n``-bit multiplier port."""
    top = (1 << n) - 1
    values = sorted({0, 1, 2, q - 1, q % (1 << n), top, 1 << (n - 1)})
    pairs = [(a, b) for a in values for b in values if a <= top and b <= top]
    pairs += [(1 << bit, top) for bit in range(n)]
    return pairs


def modmul_vectors(p, count, seed):
    """``modmul`` stream vectors: directed operand pairs, then ``count`` random ones."""
    q, n = p.q, p.n
    rng = random.Random(seed)
    pairs = modmul_pairs(q, n)
    pairs += [(rng.randrange(q), rng.randrange(q)) if index % 2 else
              (rng.getrandbits(n), rng.getrandbits(n)) for index in range(count)]
    mask = (1 << p.tag_bits) - 1
    return {
        "inputs": {"i": [{"a": a, "b": b, "tag": index & mask}
                         for index, (a, b) in enumerate(pairs)]},
        "outputs": {"o": [{"r": expected(a * b, q, p.resolved_method, p.r_bits),
                           "tag": index & mask} for index, (a, b) in enumerate(pairs)]},
    }
