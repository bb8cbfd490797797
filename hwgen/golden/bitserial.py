"""Golden model of the bit-serial MAC family: grouped, scaled integer dot products.

A dot product is a sequence of beats; beat ``b`` carries ``lanes`` activations ``a`` and
weight codes ``w`` and, for ``int``/``uint`` codes, a runtime precision ``prec``. Beats are
grouped ``group_size / lanes`` at a time from the start of each dot product (the final group
may be shorter); a group's ``scale`` (and, for ``bitmod``, its ``dtype``) is the one on its
first beat. The result is::

    y = wrap(Σ_groups scale_g · Σ_{k in g} a_k · value(w_k), acc_bits)

with ``wrap`` the two's complement reduction to ``acc_bits`` bits. A beat whose ``prec`` is
outside ``[2, weight_bits]`` makes its dot product an error: ``err = 1`` and ``y = 0``.

Weight code values:

* ``int``: the low ``prec`` bits, two's complement; ``uint``: the low ``prec`` bits;
* ``bitmod`` (BitMoD, 3- or 4-bit codes): sign bit (MSB) and a magnitude index into
  :data:`BITMOD_MAGNITUDES`; the negative-zero code takes the group's special value
  :data:`BITMOD_SPECIALS` ``[dtype]``.

Transactions are dicts of NumPy arrays: ``a`` and ``w`` of shape (beats, lanes), ``prec``,
``scale`` and ``dtype`` of shape (beats,).

A digit-serial engine may take its weights as **digit planes** (``weight_stream: planes``)
instead of whole codes: a beat of ``n`` = :func:`beat_cycles` planes is ``n`` stream
transfers, the first carrying the beat's activations, precision and scale, each carrying one
plane of every lane's weight, most significant first, and the dot product's final transfer
``last`` (see :func:`digit_planes`).
"""
import numpy as np

__all__ = [
    "BITMOD_MAGNITUDES", "BITMOD_SPECIALS", "weight_values", "max_abs_activation",
    "max_abs_weight", "exact_acc_bits", "beat_sum_bound", "prec_is_valid", "wrap",
    "extreme_weight_code", "dot_product", "directed", "random_transactions", "to_vectors",
    "vectors", "RADIX_BITS", "digit_count", "beat_cycles", "plane_bits", "digit_planes",
]

BITMOD_MAGNITUDES = {4: (0, 1, 2, 3, 4, 6, 8, 12), 3: (0, 1, 2, 4)}
BITMOD_SPECIALS = {4: (10, -10, 16, -16), 3: (3, -3, 6, -6)}
# Bits of the weight that one digit covers: a bit, or a radix-4 Booth digit.
RADIX_BITS = {"bit": 1, "booth4": 2}


def digit_count(digit, weight_format, bits):
    """Digits that encode a ``bits``-bit code (``bitmod``: its mantissa) in ``digit`` form.

    Booth needs a leading zero for codes without a sign bit (``uint``, BitMoD mantissas)."""
    if digit == "bit":
        return bits
    return -(-(bits + (weight_format != "int")) // 2)


def beat_cycles(p, prec):
    """Cycles (and, with digit planes, planes) of a beat of ``int``/``uint`` codes at a valid
    ``prec`` in a digit-serial engine."""
    return -(-digit_count(p.digit, p.weight_format, prec) // p.digits_per_cycle)


def plane_bits(p):
    """Width of one lane's digit plane: ``digits_per_cycle`` digits, and for Booth digits the
    bit below them, which the lowest digit reads (0 in the least significant plane)."""
    return p.digits_per_cycle * RADIX_BITS[p.digit] + (p.digit == "booth4")


def digit_planes(p, values, prec):
    """The digit planes of integer weight ``values`` (one beat, any shape) at ``prec``, most
    significant first: the value in ``n·s`` bits (two's complement; ``n`` planes of ``s``
    bits), cut into ``s``-bit slices, each with the bit below it for Booth digits."""
    slice_bits = p.digits_per_cycle * RADIX_BITS[p.digit]
    count = beat_cycles(p, prec)
    booth = int(p.digit == "booth4")
    extended = (np.asarray(values, dtype=np.int64) % (1 << (count * slice_bits))) << booth
    mask = (1 << plane_bits(p)) - 1
    return [(extended >> (index * slice_bits)) & mask for index in reversed(range(count))]


def weight_values(codes, weight_format, weight_bits, prec, dtype):
    """Integer values of weight ``codes`` (any shape; ``prec``/``dtype`` broadcast)."""
    codes = np.asarray(codes, dtype=np.int64)
    if weight_format == "bitmod":
        sign = (codes >> (weight_bits - 1)) & 1
        index = codes & ((1 << (weight_bits - 1)) - 1)
        magnitude = np.asarray(BITMOD_MAGNITUDES[weight_bits], dtype=np.int64)[index]
        special = np.asarray(BITMOD_SPECIALS[weight_bits], dtype=np.int64)[np.asarray(dtype)]
        special = np.broadcast_to(special, codes.shape)
        return np.where((sign == 1) & (index == 0), special,
                        np.where(sign == 1, -magnitude, magnitude))
    prec = np.asarray(prec, dtype=np.int64)
    low = codes & ((np.int64(1) << prec) - 1)
    if weight_format == "uint":
        return low
    return np.where((low >> (prec - 1)) & 1, low - (np.int64(1) << prec), low)


def max_abs_activation(act_bits, act_signed):
    return 1 << (act_bits - 1) if act_signed else (1 << act_bits) - 1


def max_abs_weight(weight_format, weight_bits):
    if weight_format == "bitmod":
        return max(max(BITMOD_MAGNITUDES[weight_bits]),
                   max(abs(value) for value in BITMOD_SPECIALS[weight_bits]))
    return 1 << (weight_bits - 1) if weight_format == "int" else (1 << weight_bits) - 1


def beat_sum_bound(p):
    """Largest |Σ a·value(w)| over one beat."""
    return p.lanes * max_abs_activation(p.act_bits, p.act_signed) * max_abs_weight(
        p.weight_format, p.weight_bits)


def exact_acc_bits(p):
    """Output width that holds every dot product of up to ``max_len`` elements exactly.

    The bound is ``max_len · max|a| · max|value(w)| · (2**scale_bits − 1)``, and the width
    is that of a signed number reaching ± the bound.
    """
    bound = (p.max_len * max_abs_activation(p.act_bits, p.act_signed)
             * max_abs_weight(p.weight_format, p.weight_bits) * ((1 << p.scale_bits) - 1))
    return bound.bit_length() + 1


def prec_is_valid(prec, weight_format, weight_bits):
    if weight_format == "bitmod":
        return np.ones_like(np.asarray(prec), dtype=bool)
    prec = np.asarray(prec)
    return (prec >= 2) & (prec <= weight_bits)


def wrap(value, bits):
    """Two's complement reduction of a Python int to ``bits`` bits."""
    half = 1 << (bits - 1)
    return ((value + half) % (1 << bits)) - half


def dot_product(p, transaction):
    """``(y, err)`` for one transaction under parameters ``p``."""
    a = np.asarray(transaction["a"], dtype=np.int64)
    beats = a.shape[0]
    prec = np.asarray(transaction["prec"], dtype=np.int64)
    if not prec_is_valid(prec, p.weight_format, p.weight_bits).all():
        return 0, 1
    firsts = np.arange(0, beats, p.group_size // p.lanes)
    group = np.arange(beats) // (p.group_size // p.lanes)
    dtype = np.asarray(transaction["dtype"], dtype=np.int64)[firsts][group]
    values = weight_values(transaction["w"], p.weight_format, p.weight_bits, prec[:, None],
                           dtype[:, None])
    group_sums = np.add.reduceat((a * values).sum(axis=1), firsts)
    scales = np.asarray(transaction["scale"], dtype=np.int64)[firsts]
    total = sum(int(scale) * int(group_sum) for scale, group_sum in zip(scales, group_sums))
    return wrap(total, p.acc_bits), 0


def _transaction(a, w, prec, scale, dtype):
    beats = len(a)
    return {
        "a": np.asarray(a, dtype=np.int64).reshape(beats, -1),
        "w": np.asarray(w, dtype=np.int64).reshape(beats, -1),
        "prec": np.broadcast_to(np.asarray(prec, dtype=np.int64), (beats,)).copy(),
        "scale": np.broadcast_to(np.asarray(scale, dtype=np.int64), (beats,)).copy(),
        "dtype": np.broadcast_to(np.asarray(dtype, dtype=np.int64), (beats,)).copy(),
    }


def extreme_weight_code(p, negative):
    """The code of the weight with the largest magnitude (most negative if ``negative``)."""
    if p.weight_format == "bitmod":
        specials = BITMOD_SPECIALS[p.weight_bits]
        best = min(specials) if negative else max(specials)
        return 1 << (p.weight_bits - 1), specials.index(best)
    if p.weight_format == "int":
        return (1 << (p.weight_bits - 1)) if negative else (1 << (p.weight_bits - 1)) - 1, 0
    return (1 << p.weight_bits) - 1, 0


def directed(p):
    """Edge-case transactions: extremes, zeros, every code, precisions, groups, errors."""
    lanes, bpg = p.lanes, p.group_size // p.lanes
    a_min = -(1 << (p.act_bits - 1)) if p.act_signed else 0
    a_max = (1 << (p.act_bits - 1)) - 1 if p.act_signed else (1 << p.act_bits) - 1
    a_big = a_min if p.act_signed else a_max
    s_max = (1 << p.scale_bits) - 1
    full = p.weight_bits
    cases = []

    neg_code, neg_dtype = extreme_weight_code(p, negative=True)
    pos_code, pos_dtype = extreme_weight_code(p, negative=False)
    # Extremes spanning two groups: most negative activations with the most negative and
    # the largest positive weights.
    for code, dtype in ((neg_code, neg_dtype), (pos_code, pos_dtype)):
        cases.append(_transaction(np.full((bpg + 1, lanes), a_big), np.full((bpg + 1, lanes), code),
                                  full, s_max, dtype))
    cases.append(_transaction(np.full((1, lanes), a_max), np.full((1, lanes), neg_code),
                              full, s_max, neg_dtype))
    # All-zero weights, all-zero activations, zero scale.
    cases.append(_transaction(np.full((2, lanes), a_big), np.zeros((2, lanes)), full, s_max, 0))
    cases.append(_transaction(np.zeros((1, lanes)), np.full((1, lanes), neg_code), full, s_max, 0))
    cases.append(_transaction(np.full((1, lanes), a_max), np.full((1, lanes), pos_code), full, 0, 0))
    # Every code at every precision (int/uint) or under every dtype (bitmod), one-beat dots.
    precisions = [full] if p.weight_format == "bitmod" else range(2, full + 1)
    dtypes = range(4) if p.weight_format == "bitmod" else [0]
    for prec in precisions:
        codes = np.arange(1 << full)
        for dtype in dtypes:
            for start in range(0, len(codes), lanes):
                chunk = np.resize(codes[start:start + lanes], lanes)
                cases.append(_transaction(np.full((1, lanes), a_min if p.act_signed else a_max),
                                          chunk[None, :], prec, 1, dtype))
    # A precision change inside a dot product, and a group whose scale changes per group.
    if p.weight_format != "bitmod":
        rng = np.random.default_rng(12345)
        beats = 2 * bpg + 1
        prec = rng.integers(2, full + 1, beats)
        cases.append(_transaction(rng.integers(a_min, a_max + 1, (beats, lanes)),
                                  rng.integers(0, 1 << full, (beats, lanes)), prec,
                                  rng.integers(0, s_max + 1, beats), 0))
        # Invalid precisions flag the dot product and must not affect the next one.
        representable = set(range(1 << full.bit_length()))
        invalid = ({0, 1, full + 1, max(representable)} & representable) - set(range(2, full + 1))
        for bad in sorted(invalid):
            cases.append(_transaction(np.full((2, lanes), a_max), np.full((2, lanes), pos_code),
                                      [full, bad], 1, 0))
            cases.append(_transaction(np.full((1, lanes), a_max), np.full((1, lanes), pos_code),
                                      full, 1, 0))
    # The longest dot product the width rule covers, all at the extremes (capped for run time).
    beats = min(p.max_len // lanes, 1024)
    if beats >= 1:
        cases.append(_transaction(np.full((beats, lanes), a_big), np.full((beats, lanes), neg_code),
                                  full, s_max, neg_dtype))
    return cases


def random_transactions(p, count, seed):
    """``count`` random transactions: random lengths (up to three groups), codes, scales."""
    rng = np.random.default_rng(seed)
    bpg = p.group_size // p.lanes
    a_lo = -(1 << (p.act_bits - 1)) if p.act_signed else 0
    a_hi = (1 << (p.act_bits - 1)) if p.act_signed else 1 << p.act_bits
    cases = []
    for _ in range(count):
        beats = int(rng.integers(1, 3 * bpg + 2))
        prec = np.full(beats, rng.integers(2, p.weight_bits + 1))
        if rng.random() < 0.1:
            prec = rng.integers(2, p.weight_bits + 1, beats)
        cases.append(_transaction(rng.integers(a_lo, a_hi, (beats, p.lanes)),
                                  rng.integers(0, 1 << p.weight_bits, (beats, p.lanes)),
                                  prec, rng.integers(0, 1 << p.scale_bits, beats),
                                  rng.integers(0, 4, beats)))
    return cases


def _plane_transfers(p, beat, rng):
    """A beat as digit-plane transfers. Fields read only on the first plane are random on
    the others; a beat at an invalid precision is one transfer (the low bits of its codes)."""
    prec = beat["prec"]
    if prec_is_valid(prec, p.weight_format, p.weight_bits):
        values = weight_values(beat["w"], p.weight_format, p.weight_bits, prec, 0)
        planes = digit_planes(p, values, prec)
    else:
        planes = [np.asarray(beat["w"]) & ((1 << plane_bits(p)) - 1)]
    a_low = -(1 << (p.act_bits - 1)) if p.act_signed else 0
    transfers = [dict(beat, w=planes[0].tolist(), last=0)]
    for plane in planes[1:]:
        transfers.append({
            "a": rng.integers(a_low, a_low + (1 << p.act_bits), p.lanes).tolist(),
            "w": plane.tolist(), "prec": int(rng.integers(0, 1 << p.weight_bits.bit_length())),
            "scale": int(rng.integers(0, 1 << p.scale_bits)), "last": 0})
    transfers[-1]["last"] = beat["last"]
    return transfers


def to_vectors(p, transactions):
    """Stream vectors (see :mod:`hwgen.golden`) for ``transactions``: one transfer per beat,
    or with ``weight_stream: planes`` one per digit plane."""
    planes = getattr(p, "weight_stream", "codes") == "planes"
    rng = np.random.default_rng(len(transactions))
    beats, results = [], []
    for transaction in transactions:
        count = len(transaction["a"])
        for index in range(count):
            beat = {"a": transaction["a"][index].tolist(), "w": transaction["w"][index].tolist(),
                    "scale": int(transaction["scale"][index]), "last": int(index == count - 1)}
            if p.weight_format == "bitmod":
                beat["dtype"] = int(transaction["dtype"][index])
            else:
                beat["prec"] = int(transaction["prec"][index])
            beats.extend(_plane_transfers(p, beat, rng) if planes else [beat])
        y, err = dot_product(p, transaction)
        results.append({"y": y, "err": err})
    return {"inputs": {"i": beats}, "outputs": {"o": results}}


def vectors(p, count, seed):
    """Directed edge cases followed by ``count`` random transactions."""
    return to_vectors(p, directed(p) + random_transactions(p, count, seed))
