"""Golden model of the ternary (BitNet b1.58) matrix-vector cores.

A beat carries ``n = n_tables · mu`` activations ``a[0..n)`` and, for each of ``lanes``
output lanes ``k``, ternary weights ``t[k][0..n)`` in {−1, 0, +1}, encoded in a weight
format. Activations are split into ``n_tables`` groups of ``mu`` consecutive activations;
group ``g`` is ``a[g·mu .. g·mu + mu)``, and ``t_j`` below is the weight of a group's ``j``-th
activation.

Keys and the half table
    A group of weights has the balanced-ternary value ``v = Σ_j t_j·3**j`` in ``[−H, H]``,
    ``H = (3**mu − 1) / 2``. Its **key** is ``sign << mag_bits | |v|`` with ``sign = v < 0``
    and ``mag_bits = ⌈log2(H + 1)⌉`` (so 5 trits fit a byte at ``mu = 5``). Keys whose
    magnitude exceeds ``H``, and the key with sign 1 and magnitude 0, are invalid.

    The **half table** of a group holds, in canonical order, entry ``v`` (index ``v − 1``,
    ``v = 1..H``) ``= Σ_j t_j·a_j`` for the digits of ``v``: the patterns whose highest
    nonzero weight is +1. It is built with shared adders: writing ``v = 3**k + r`` (``3**k``
    the highest digit, ``|r| ≤ (3**k − 1)/2``), entry ``v`` is ``a_k`` if ``r = 0`` and
    ``a_k + sign(r)·entry |r|`` otherwise, one adder per entry that is not a single activation
    (``H − mu`` adders per table).

    A **fetch** with key ``(sign, |v|)`` returns entry ``|v|``, negated if ``sign``; the
    all-zero group fetches 0.

Weight formats (field ``w``, one list per lane)
    * ``key``: ``n_tables`` keys per lane;
    * ``code2``: ``n`` 2-bit codes per lane, 00 → 0, 01 → +1, 11 → −1, 10 invalid;
    * ``base3``: ``⌈n/5⌉`` bytes per lane, byte ``i`` holding weights ``5i .. 5i+4`` as
      ``Σ_j (t_j + 1)·3**j``; trits past ``n`` in the last byte are ignored; bytes ≥ 243 are
      invalid;
    * ``int``, ``fp16``, ``bf16`` (``ternary_mac`` only, the activation type): ``n`` weights
      per lane as values of the activation type, as a dequantize-then-multiply engine is fed
      them (any value: ternary weights times a scale, or anything else); never invalid.
      :func:`encode` writes a ternary weight as 0, +1, −1 (+0, +1.0, −1.0 for floats).

Dot products
    A dot product is a sequence of beats, the last one marked ``last``; lane ``k`` outputs
    ``y[k] = Σ_beats Σ_j t[k][j]·a[j]``. Any invalid code of lane ``k`` in any beat of the dot
    product makes ``err[k] = 1`` and ``y[k] = 0``; other lanes and other dot products are
    unaffected.

    ``int`` activations: the sum is exact and reduced to ``acc_bits`` bits (two's complement
    wrap); with ``int`` weight values the terms are the exact products. ``fp16``/``bf16`` activations (bit patterns): every addition is an IEEE addition of
    :mod:`hwgen.golden.float`, in this order —

    * ``ternary_lut``: tables built as above; a lane's beat sum is the balanced tree (below)
      of its ``n_tables`` fetched entries;
    * ``ternary_addsub``: a lane's beat sum is the tree of its ``n`` selected terms ``a_j``,
      ``−a_j`` (sign flipped) or +0;
    * ``ternary_mac``: the tree of the ``n`` IEEE products ``a_j · w_j`` with ``w_j`` in
      {+0, +1.0, −1.0} (so a zero weight on an infinite or NaN activation gives NaN, and on a
      negative activation −0), or ``w_j`` the weight value in a value format;
    * the tree pairs terms ``(0, 1), (2, 3), …`` level by level, an odd last term moving up
      unchanged; the dot product is ``((s_0 + s_1) + s_2) + …`` over the beat sums ``s_b``.

Transactions are dicts of arrays: ``a`` of shape (beats, n) holding integers (bit patterns
for floats) and ``w`` of shape (beats, lanes, codes per lane) holding codes in the format.
The parameter object ``p`` needs ``architecture`` (``"lut"``, ``"addsub"``, ``"mac"``),
``mu``, ``n_tables``, ``lanes``, ``act_type``, ``act_bits``, ``weight_format``, ``max_len``
and ``acc_bits``.
"""
import numpy as np

from hwgen.golden import float as fp

__all__ = [
    "half_size", "mag_bits", "key_bits", "codes_per_lane", "code_bits", "exact_acc_bits",
    "group_values", "trits_of_values", "table_patterns", "encode_keys", "decode_keys",
    "encode_code2", "decode_code2", "encode_base3", "decode_base3", "encode", "decode",
    "VALUE_FORMATS", "is_value_format",
    "Arithmetic", "highest_digit", "build_table", "fetch", "tree_sum", "beat_sums", "dot_products",
    "wrap", "directed", "random_activations", "random_transactions", "dot_product_vectors",
    "to_vectors", "vectors",
]

BASE3_INVALID = 243  # 3**5: bytes from here on are invalid
VALUE_FORMATS = ("int", "fp16", "bf16")  # weights as values of the activation type


def is_value_format(weight_format):
    return weight_format in VALUE_FORMATS


def half_size(mu):
    """``H``: entries of the symmetric half table for groups of ``mu``."""
    return (3 ** mu - 1) // 2


def mag_bits(mu):
    return (half_size(mu)).bit_length()


def key_bits(mu):
    """Sign bit plus ``⌈log2(H + 1)⌉`` magnitude bits."""
    return mag_bits(mu) + 1


def codes_per_lane(p):
    n = p.n_tables * p.mu
    if is_value_format(p.weight_format):
        return n
    return {"key": p.n_tables, "code2": n, "base3": -(-n // 5)}[p.weight_format]


def code_bits(p):
    if is_value_format(p.weight_format):
        return p.act_bits
    return {"key": key_bits(p.mu), "code2": 2, "base3": 8}[p.weight_format]


def exact_acc_bits(max_len, act_bits, weight_bits=None):
    """Result width holding every ``int`` dot product of up to ``max_len`` activations.

    Ternary weights: ``|y| ≤ max_len · 2**(act_bits − 1)`` (reached with every activation at
    −2**(act_bits−1) and every weight −1), so the width is that bound's bit length plus a sign
    bit. With ``weight_bits``-wide integer weights the bound is
    ``max_len · 2**(act_bits − 1) · 2**(weight_bits − 1)``.
    """
    shift = act_bits - 1 + (weight_bits - 1 if weight_bits else 0)
    return (max_len << shift).bit_length() + 1


def group_values(trits):
    """``v = Σ_j t_j·3**j`` over the last axis."""
    trits = np.asarray(trits, dtype=np.int64)
    return trits @ (3 ** np.arange(trits.shape[-1], dtype=np.int64))


def trits_of_values(values, mu):
    """Balanced-ternary digits (last axis, ``mu`` of them) of each ``v`` in ``[−H, H]``."""
    rest = np.asarray(values, dtype=np.int64) + half_size(mu)  # Σ (t_j + 1)·3**j
    digits = []
    for _ in range(mu):
        digits.append(rest % 3 - 1)
        rest = rest // 3
    return np.stack(digits, axis=-1)


def table_patterns(mu):
    """Weights of the half-table entries in canonical order: row ``v − 1`` for ``v = 1..H``."""
    return trits_of_values(np.arange(1, half_size(mu) + 1), mu)


def encode_keys(trits):
    """Keys of weight groups (last axis: the ``mu`` weights of a group)."""
    trits = np.asarray(trits)
    values = group_values(trits)
    return ((values < 0).astype(np.int64) << mag_bits(trits.shape[-1])) | np.abs(values)


def decode_keys(keys, mu):
    """``(trits, valid)``: each key's ``mu`` weights (zeros where invalid) and its validity."""
    keys = np.asarray(keys, dtype=np.int64)
    sign = keys >> mag_bits(mu)
    magnitude = keys & ((1 << mag_bits(mu)) - 1)
    valid = (magnitude <= half_size(mu)) & ~((sign == 1) & (magnitude == 0))
    values = np.where(valid, np.where(sign == 1, -magnitude, magnitude), 0)
    return trits_of_values(values, mu), valid


def encode_code2(trits):
    trits = np.asarray(trits, dtype=np.int64)
    return trits & 3  # +1 → 01, −1 → 11, 0 → 00


def decode_code2(codes):
    codes = np.asarray(codes, dtype=np.int64)
    valid = codes != 2
    return np.where(valid, np.where(codes == 3, -1, codes), 0), valid


def encode_base3(trits):
    """Bytes of weights (last axis), five per byte, the last byte's spare trits zero."""
    trits = np.asarray(trits, dtype=np.int64)
    n = trits.shape[-1]
    padded = np.zeros(trits.shape[:-1] + (-(-n // 5) * 5,), dtype=np.int64)
    padded[..., :n] = trits
    groups = padded.reshape(trits.shape[:-1] + (-1, 5))
    return (groups + 1) @ (3 ** np.arange(5, dtype=np.int64))


def decode_base3(codes, n):
    """``(trits, valid)``: the first ``n`` weights of the bytes (last axis) and each byte's
    validity (zeros for the weights of an invalid byte)."""
    codes = np.asarray(codes, dtype=np.int64)
    valid = codes < BASE3_INVALID
    rest = np.where(valid, codes, 121)  # 121 encodes five zero weights
    digits = []
    for _ in range(5):
        digits.append(rest % 3 - 1)
        rest = rest // 3
    trits = np.stack(digits, axis=-1).reshape(codes.shape[:-1] + (-1,))[..., :n]
    return trits, valid


def encode(trits, p):
    """Codes in ``p.weight_format`` for weights of shape (..., lanes, n)."""
    trits = np.asarray(trits, dtype=np.int64)
    if is_value_format(p.weight_format):
        return Arithmetic(p.act_type).weight_values(trits)
    if p.weight_format == "key":
        return encode_keys(trits.reshape(trits.shape[:-1] + (p.n_tables, p.mu)))
    if p.weight_format == "code2":
        return encode_code2(trits)
    return encode_base3(trits)


def decode(codes, p):
    """``(weights, lane_valid)``: weights (..., lanes, n) and whether each lane's codes are all
    valid (..., lanes). Weights are trits, or the values themselves in a value format."""
    codes = np.asarray(codes, dtype=np.int64)
    n = p.n_tables * p.mu
    if is_value_format(p.weight_format):
        return codes, np.ones(codes.shape[:-1], dtype=bool)
    if p.weight_format == "key":
        trits, valid = decode_keys(codes, p.mu)
        trits = trits.reshape(codes.shape[:-1] + (n,))
    elif p.weight_format == "code2":
        trits, valid = decode_code2(codes)
    else:
        trits, valid = decode_base3(codes, n)
    return trits, valid.all(axis=-1)


class Arithmetic:
    """The number system of ``act_type``: exact integers or IEEE bit patterns."""

    def __init__(self, act_type):
        self.fmt = fp.FORMATS.get(act_type)

    def add(self, x, y):
        return np.add(x, y) if self.fmt is None else fp.add(x, y, self.fmt).astype(np.int64)

    def negate(self, x):
        return np.negative(x) if self.fmt is None else fp.negate(x, self.fmt)

    def signed(self, x, weights):
        """``x``, ``−x`` or 0 for weights +1, −1, 0 (a select, not a product)."""
        return np.where(weights == 0, 0, np.where(weights < 0, self.negate(x), x))

    def weight_values(self, trits):
        """Ternary weights as values: 0, ±1 (``int``), or the patterns of +0, ±1.0."""
        trits = np.asarray(trits, dtype=np.int64)
        if self.fmt is None:
            return trits
        one = self.fmt.bias << self.fmt.man_bits
        return np.where(trits == 0, 0, np.where(trits < 0, one | self.fmt.sign_bit, one))

    def mul(self, x, y):
        """Product ``x · y`` of values (IEEE for floats; ``int``: exact)."""
        if self.fmt is None:
            return np.multiply(x, y)
        return fp.mul(x, y, self.fmt).astype(np.int64)


def highest_digit(v):
    """Position ``k`` of the highest nonzero balanced-ternary digit of ``v ≥ 1`` (it is +1):
    ``(3**k + 1)/2 ≤ v ≤ (3**(k+1) − 1)/2``."""
    k = 0
    while 3 ** (k + 1) <= 2 * v - 1:
        k += 1
    return k


def build_table(groups, mu, arithmetic):
    """Half tables (..., H) of activation groups (..., mu), built in canonical order."""
    groups = np.asarray(groups, dtype=np.int64)
    entries = {}
    for v in range(1, half_size(mu) + 1):
        k = highest_digit(v)
        rest = v - 3 ** k  # |rest| ≤ (3**k − 1)/2
        single = groups[..., k]
        if rest == 0:
            entries[v] = single
        else:
            lower = entries[abs(rest)]
            entries[v] = arithmetic.add(single, lower if rest > 0 else arithmetic.negate(lower))
    return np.stack([entries[v] for v in range(1, half_size(mu) + 1)], axis=-1)


def fetch(tables, keys, mu, arithmetic):
    """The entry each key selects from ``tables`` (broadcast over leading axes), signed; 0 for
    the all-zero group. Invalid keys fetch 0 (their outputs are masked)."""
    keys = np.asarray(keys, dtype=np.int64)
    sign = keys >> mag_bits(mu)
    magnitude = keys & ((1 << mag_bits(mu)) - 1)
    valid = (magnitude >= 1) & (magnitude <= half_size(mu))
    index = np.where(valid, magnitude - 1, 0)
    entry = np.take_along_axis(np.broadcast_to(tables, keys.shape[:-1] + tables.shape[-2:]),
                               index[..., None], axis=-1)[..., 0]
    return np.where(valid, np.where(sign == 1, arithmetic.negate(entry), entry), 0)


def tree_sum(terms, arithmetic):
    """Balanced pairwise sum over the last axis: pairs (0, 1), (2, 3), …; an odd last term
    moves up a level unchanged."""
    level = [np.asarray(terms)[..., index] for index in range(np.shape(terms)[-1])]
    while len(level) > 1:
        pairs = [arithmetic.add(level[index], level[index + 1])
                 for index in range(0, len(level) - 1, 2)]
        level = pairs + ([level[-1]] if len(level) % 2 else [])
    return level[0]


def beat_sums(p, a, trits):
    """Per-beat, per-lane sums (beats, lanes) for activations (beats, n) and weights
    (beats, lanes, n), computed in the order of ``p.architecture``."""
    arithmetic = Arithmetic(p.act_type)
    a = np.asarray(a, dtype=np.int64)
    trits = np.asarray(trits, dtype=np.int64)
    if p.architecture == "lut":
        tables = build_table(a.reshape(a.shape[0], p.n_tables, p.mu), p.mu, arithmetic)
        keys = encode_keys(trits.reshape(trits.shape[:-1] + (p.n_tables, p.mu)))
        terms = fetch(tables[:, None], keys, p.mu, arithmetic)  # (beats, lanes, tables)
    elif p.architecture == "addsub":
        terms = arithmetic.signed(a[:, None, :], trits)
    elif is_value_format(p.weight_format):
        terms = arithmetic.mul(a[:, None, :], trits)
    else:
        terms = arithmetic.mul(a[:, None, :], arithmetic.weight_values(trits))
    return tree_sum(terms, arithmetic)


def wrap(value, bits):
    """Two's complement reduction of integers to ``bits`` bits."""
    half = 1 << (bits - 1)
    return ((np.asarray(value, dtype=object) + half) % (1 << bits)) - half


def dot_products(p, transaction):
    """``(y, err)``, each a list over lanes, for one transaction."""
    trits, lane_valid = decode(transaction["w"], p)
    sums = beat_sums(p, transaction["a"], trits)
    valid = lane_valid.all(axis=0)
    if p.act_type == "int":
        y = wrap(sums.astype(object).sum(axis=0), p.acc_bits)
    else:
        arithmetic = Arithmetic(p.act_type)
        y = sums[0]
        for beat_sum in sums[1:]:
            y = arithmetic.add(y, beat_sum)
    y = [int(value) if ok else 0 for value, ok in zip(y, valid)]
    return y, [int(not ok) for ok in valid]


# --- test vectors -----------------------------------------------------------------------

def _activation_range(p):
    return -(1 << (p.act_bits - 1)), (1 << (p.act_bits - 1)) - 1


def random_activations(p, rng, shape):
    """Integers over the full range; floats mostly of moderate size, some special."""
    if p.act_type == "int":
        lo, hi = _activation_range(p)
        return rng.integers(lo, hi + 1, shape)
    fmt = fp.FORMATS[p.act_type]
    sign = rng.integers(0, 2, shape) << (fmt.width - 1)
    exponent = rng.integers(fmt.bias - 6, fmt.bias + 6, shape)
    fraction = rng.integers(0, 1 << fmt.man_bits, shape)
    values = sign | (exponent << fmt.man_bits) | fraction
    special = rng.choice(_float_specials(fmt), shape)
    return np.where(rng.random(shape) < 0.03, special, values)


def _float_specials(fmt):
    return np.array([0, fmt.sign_bit, 1, fmt.sign_bit | 3, (1 << fmt.man_bits) - 1,
                     fmt.max_finite, fmt.sign_bit | fmt.max_finite, fmt.infinity,
                     fmt.sign_bit | fmt.infinity, fmt.canonical_nan, fmt.infinity | 5])


def _transaction(p, a, trits):
    a = np.asarray(a, dtype=np.int64).reshape(-1, p.n_tables * p.mu)
    trits = np.broadcast_to(np.asarray(trits, dtype=np.int64),
                            (a.shape[0], p.lanes, p.n_tables * p.mu))
    return {"a": a, "w": encode(trits, p)}


def _invalid_codes(p):
    if is_value_format(p.weight_format):
        return []
    if p.weight_format == "code2":
        return [2]
    if p.weight_format == "base3":
        return list(range(BASE3_INVALID, 256))
    mag = mag_bits(p.mu)
    return [1 << mag] + list(range(half_size(p.mu) + 1, 1 << mag)) + [
        (1 << mag) | value for value in range(half_size(p.mu) + 1, 1 << mag)]


def directed(p):
    """Edge cases: extremes with all +1 / all −1 weights, zero weights, one nonzero weight,
    every group pattern, invalid codes in one lane, long dot products, float specials."""
    n, lanes = p.n_tables * p.mu, p.lanes
    rng = np.random.default_rng(2024)
    cases = []
    if p.act_type == "int":
        lo, hi = _activation_range(p)
        extremes = [lo, hi]
    else:
        fmt = fp.FORMATS[p.act_type]
        extremes = [fmt.sign_bit | fmt.max_finite, fmt.max_finite, 1, fmt.sign_bit | 1]
    for value in extremes:
        for weight in (1, -1):
            cases.append(_transaction(p, np.full((2, n), value), weight))
    cases.append(_transaction(p, random_activations(p, rng, (2, n)), 0))
    # One nonzero weight per lane, at a different position in each lane.
    for start in range(0, n, lanes):
        trits = np.zeros((1, lanes, n), dtype=np.int64)
        for lane in range(lanes):
            trits[0, lane, (start + lane) % n] = 1 if lane % 2 else -1
        cases.append(_transaction(p, random_activations(p, rng, (1, n)), trits))
    # Every group pattern (all 3**mu), spread over lanes and groups, one beat per case.
    patterns = trits_of_values(np.arange(-half_size(p.mu), half_size(p.mu) + 1), p.mu)
    slots = lanes * p.n_tables
    for start in range(0, len(patterns), slots):
        chunk = np.resize(patterns[start:start + slots], (slots, p.mu))
        cases.append(_transaction(p, random_activations(p, rng, (1, n)),
                                  chunk.reshape(1, lanes, n)))
    # Invalid codes in lane 0 only (middle beat of three), followed by a clean dot product.
    for bad in _invalid_codes(p):
        transaction = _transaction(p, random_activations(p, rng, (3, n)),
                                   rng.integers(-1, 2, (3, lanes, n)))
        transaction["w"][1, 0, -1] = bad
        cases.append(transaction)
        cases.append(_transaction(p, random_activations(p, rng, (1, n)),
                                  rng.integers(-1, 2, (1, lanes, n))))
    if p.act_type != "int":
        fmt = fp.FORMATS[p.act_type]
        specials = _float_specials(fmt)
        # Each special value in every position, under random weights.
        for value in specials:
            a = random_activations(p, rng, (1, n))
            a[0, rng.integers(0, n)] = value
            cases.append(_transaction(p, a, rng.integers(-1, 2, (1, lanes, n))))
        # Subnormal-only sums and cancellations to zero.
        cases.append(_transaction(p, rng.integers(0, 4, (2, n)) | rng.integers(0, 2, (2, n))
                                  << (fmt.width - 1), rng.integers(-1, 2, (2, lanes, n))))
        a = random_activations(p, rng, (1, n))
        cases.append(_transaction(p, np.concatenate([a, a]), np.stack(
            [np.ones((lanes, n)), -np.ones((lanes, n))])))
    # The longest dot product the width rule covers, at the extremes (capped for run time).
    beats = max(1, min(p.max_len // n, 64))
    if p.act_type == "int":
        cases.append(_transaction(p, np.full((beats, n), _activation_range(p)[0]), -1))
    else:
        cases.append(_transaction(p, random_activations(p, rng, (beats, n)),
                                  rng.integers(-1, 2, (beats, lanes, n))))
    return cases


def random_transactions(p, count, seed):
    """``count`` random transactions of 1..4 beats, some with an invalid code; in a value
    format, weights are random values of the activation type (the multiplier sees every
    operand, not only ±1)."""
    rng = np.random.default_rng(seed)
    n = p.n_tables * p.mu
    invalid = _invalid_codes(p)
    cases = []
    for _ in range(count):
        beats = int(rng.integers(1, 5))
        transaction = _transaction(p, random_activations(p, rng, (beats, n)),
                                   rng.integers(-1, 2, (beats, p.lanes, n)))
        if is_value_format(p.weight_format):
            transaction["w"] = random_activations(p, rng, (beats, p.lanes, n))
        if invalid and rng.random() < 0.05:
            codes = transaction["w"]
            codes[rng.integers(0, beats), rng.integers(0, p.lanes),
                  rng.integers(0, codes.shape[-1])] = rng.choice(invalid)
        cases.append(transaction)
    return cases


def _nested(codes, p):
    """A lane's codes as the ``w`` field wants them: (lanes, codes per lane)."""
    return codes.reshape(p.lanes, codes_per_lane(p)).tolist()


def dot_product_vectors(transactions, beat_fields, dot_products):
    """Stream vectors (see :mod:`hwgen.golden`) for dot-product ``transactions`` (dicts of
    per-beat arrays, ``a`` among them): beat ``index`` of a transaction carries the fields
    ``beat_fields(transaction, index)`` and ``last``; each transaction's result beat is
    ``(y, err) = dot_products(transaction)``. Shared by the table families."""
    beats, results = [], []
    for transaction in transactions:
        count = len(transaction["a"])
        for index in range(count):
            beats.append({**beat_fields(transaction, index), "last": int(index == count - 1)})
        y, err = dot_products(transaction)
        results.append({"y": y, "err": err})
    return {"inputs": {"i": beats}, "outputs": {"o": results}}


def to_vectors(p, transactions):
    """Stream vectors (see :mod:`hwgen.golden`) for ``transactions``."""
    return dot_product_vectors(
        transactions,
        lambda transaction, index: {"a": transaction["a"][index].tolist(),
                                    "w": _nested(transaction["w"][index], p)},
        lambda transaction: dot_products(p, transaction))


def vectors(p, count, seed):
    """Directed edge cases followed by ``count`` random transactions."""
    return to_vectors(p, directed(p) + random_transactions(p, count, seed))
