"""Golden model of the bit-plane LUT core (``lut_bitplane_dot``): multi-bit weights through
tables of activation sums, T-MAC / LUT Tensor Core style.

A beat carries ``n = n_tables · mu`` activations ``a[0..n)``, for each of ``lanes`` output lanes
``k`` one weight code ``w[k][j]`` of ``weight_bits`` bits per activation, a runtime precision
``prec`` and, per lane, a ``scale``. Beats are grouped ``group_size / n`` at a time from the
start of each dot product (the final group may be shorter); a group's scales are the ones on
its first beat. Lane ``k`` outputs::

    y[k] = Σ_groups scale_g[k] · Σ_{j in g} a_j · value(w[k][j])

``value``: the low ``prec`` bits of the code, two's complement (``weight_signed``) or unsigned.
A beat whose ``prec`` is outside ``[1, weight_bits]`` makes its dot product an error:
``err = 1`` and every ``y = 0``.

Bit planes and the half table
    Bit ``i`` of the codes is plane ``i``; weight ``value = Σ_i c_i·b_i`` with ``c_i = 2**i``,
    except ``c_{prec−1} = −2**(prec−1)`` for signed weights. A plane's bits ``b_j`` become signs
    ``s_j = 2·b_j − 1``, so that ``Σ_j b_j·a_j = (Σ_j s_j·a_j + Σ_j a_j) / 2``. The table of a
    group of ``mu`` activations holds ``Σ_j s_j·a_j`` for the ``2**(mu−1)`` sign patterns with
    ``s_{mu−1} = +1`` (the others are their negations): the entries of the ternary half table
    (:func:`hwgen.golden.ternary.build_table`, built with the same shared adders) whose weights
    are all nonzero. Entry ``r`` has ``s_j = 2·r_j − 1`` for the bits ``r_j`` of ``r``,
    ``j < mu − 1``. A plane's ``mu`` bits fetch entry ``b[0..mu−1)`` if ``b_{mu−1} = 1``, else
    the negation of entry ``~b[0..mu−1)``; the top plane of a signed weight is negated again.

    So ``2·Σ_j a_j·value(w_j) = Σ_i c_i·T_i + (Σ_i c_i)·Σ_j a_j`` with ``T_i`` a plane's
    fetched sum. The second term (T-MAC's offset) does not depend on the weights: it is what a
    lane whose codes are all ones computes, because every all-ones plane fetches ``Σ_j a_j``.
    The core runs one such **offset lane** next to the others and adds its group sum to each
    lane's before halving.

Order of operations (``fp16``/``bf16``: every step an IEEE operation of
:mod:`hwgen.golden.float`; ``int``: exact, wrapped to ``acc_bits`` at the end)
    1. per beat, the tables (ternary canonical order, ``a_k ± entry``);
    2. per lane and plane, the plane sum ``S_i``: the balanced tree (pairs ``(0, 1), (2, 3)``,
       …) of the ``n_tables`` fetched entries;
    3. per lane and beat, ``X = R`` after ``R = +0`` and, for ``i = prec − 1`` down to 0,
       ``R = (R + R) + S_i`` (most significant plane first);
    4. per lane and group, ``G = ((X_0 + X_1) + X_2) + …`` over the group's beats; the
       offset lane's ``G_off`` likewise;
    5. ``V = (G + G_off) · 0.5`` (``int``: exact, the sum is even), ``t = V · scale``;
    6. ``y = ((t_0 + t_1) + t_2) + …`` over the groups.

Transactions are dicts of arrays: ``a`` (beats, n), ``w`` (beats, lanes, n), ``prec`` (beats,),
``scale`` (beats, lanes); integers, or bit patterns for floats. The parameter object ``p``
needs ``mu``, ``n_tables``, ``lanes``, ``act_type``, ``act_bits``, ``weight_bits``,
``weight_signed``, ``group_size``, ``scale_bits``, ``max_len`` and ``acc_bits``.
"""
import numpy as np

from hwgen.golden import float as fp
from hwgen.golden import ternary

__all__ = ["table_values", "prec_bits", "prec_is_valid", "weight_values", "max_abs_weight",
           "exact_acc_bits", "beat_bound", "tables", "plane_terms", "beat_values",
           "dot_products", "reference_dot_products", "directed", "random_transactions",
           "to_vectors", "vectors"]


def table_values(mu):
    """The ternary half-table entry ``v`` (balanced-ternary value) of each bit-plane entry
    ``r = 0 .. 2**(mu−1) − 1``."""
    return [3 ** (mu - 1) + sum((2 * ((r >> j) & 1) - 1) * 3 ** j for j in range(mu - 1))
            for r in range(1 << (mu - 1))]


def prec_bits(weight_bits):
    """Width of the ``prec`` field."""
    return weight_bits.bit_length()


def prec_is_valid(prec, weight_bits):
    prec = np.asarray(prec)
    return (prec >= 1) & (prec <= weight_bits)


def weight_values(codes, prec, weight_signed):
    """The low ``prec`` bits of ``codes``, two's complement or unsigned (broadcast)."""
    codes = np.asarray(codes, dtype=np.int64)
    prec = np.asarray(prec, dtype=np.int64)
    low = codes & ((np.int64(1) << prec) - 1)
    if not weight_signed:
        return low
    return np.where((low >> (prec - 1)) & 1, low - (np.int64(1) << prec), low)


def max_abs_weight(weight_bits, weight_signed):
    return 1 << (weight_bits - 1) if weight_signed else (1 << weight_bits) - 1


def _max_abs_activation(p):
    return 1 << (p.act_bits - 1)


def exact_acc_bits(max_len, act_bits, weight_bits, weight_signed, scale_bits):
    """``int`` result width exact for ``max_len`` activations at the extremes of every input:
    ``max_len · 2**(act_bits−1) · max|value| · (2**scale_bits − 1)`` and a sign bit."""
    bound = (max_len << (act_bits - 1)) * max_abs_weight(weight_bits, weight_signed) * (
        (1 << scale_bits) - 1)
    return bound.bit_length() + 1


def beat_bound(p):
    """Largest ``|X|`` of one beat (step 3, ``int``): every plane's sum is at most
    ``n · 2**(act_bits−1)`` and the planes weigh ``|c_i| = 2**i``."""
    return ((1 << p.weight_bits) - 1) * p.n_tables * p.mu * _max_abs_activation(p)


class _Arithmetic(ternary.Arithmetic):
    """Exact integers or IEEE bit patterns, with the doubling and halving of the order of
    operations."""

    def double(self, x):
        return self.add(x, x)

    def halve(self, x):
        if self.fmt is None:
            assert not (np.asarray(x) % 2).any(), "a lane's sum with the offset is even"
            return np.asarray(x) // 2
        return self.mul(x, fp.from_float64(0.5, self.fmt))

    def total(self, values):
        """``((v_0 + v_1) + v_2) + …`` along the first axis."""
        result = values[0]
        for value in values[1:]:
            result = self.add(result, value)
        return result


def tables(p, a, arithmetic):
    """Tables (beats, n_tables, 2**(mu−1)) of activations (beats, n)."""
    a = np.asarray(a, dtype=np.int64)
    full = ternary.build_table(a.reshape(a.shape[0], p.n_tables, p.mu), p.mu, arithmetic)
    return full[..., [v - 1 for v in table_values(p.mu)]]


def plane_terms(p, table, codes, plane, negate, arithmetic):
    """Fetched entries (beats, lanes, n_tables) of ``plane`` for codes (beats, lanes, n),
    negated once more where ``negate`` (beats, lanes) is set."""
    bits = (np.asarray(codes, dtype=np.int64) >> plane) & 1
    bits = bits.reshape(bits.shape[:-1] + (p.n_tables, p.mu))
    top = bits[..., -1]
    index = np.zeros_like(top)
    for j in range(p.mu - 1):
        index |= (bits[..., j] ^ (1 - top)) << j
    entry = np.take_along_axis(np.broadcast_to(table[:, None], index.shape + table.shape[-1:]),
                               index[..., None], axis=-1)[..., 0]
    negative = (top == 0) ^ np.asarray(negate)[..., None]
    return np.where(negative, arithmetic.negate(entry), entry)


def beat_values(p, a, codes, prec, arithmetic):
    """``X`` (beats, lanes) after step 3, for codes (beats, lanes, n) at ``prec`` (beats,)."""
    table = tables(p, a, arithmetic)
    prec = np.clip(np.asarray(prec, dtype=np.int64), 1, p.weight_bits)[:, None]
    result = np.zeros(np.shape(codes)[:2], dtype=np.int64)
    for plane in range(p.weight_bits - 1, -1, -1):
        negate = (plane == prec - 1) & p.weight_signed
        terms = plane_terms(p, table, codes, plane, np.broadcast_to(negate, result.shape),
                            arithmetic)
        sums = np.where(plane < prec, ternary.tree_sum(terms, arithmetic), 0)
        result = arithmetic.add(arithmetic.double(result), sums)
    return result


def _groups(p, beats):
    """First beat of each group."""
    return list(range(0, beats, p.group_size // (p.n_tables * p.mu)))


def dot_products(p, transaction):
    """``(y, err)``: a list over lanes and one error bit, for one transaction."""
    arithmetic = _Arithmetic(p.act_type)
    prec = np.asarray(transaction["prec"], dtype=np.int64)
    if not prec_is_valid(prec, p.weight_bits).all():
        return [0] * p.lanes, 1
    codes = np.asarray(transaction["w"], dtype=np.int64)
    ones = np.full_like(codes[:, :1], (1 << p.weight_bits) - 1)
    values = beat_values(p, transaction["a"], np.concatenate([codes, ones], axis=1), prec,
                         arithmetic)  # (beats, lanes + 1), the offset lane last
    starts = _groups(p, len(values)) + [len(values)]
    scale = np.asarray(transaction["scale"], dtype=np.int64)
    terms = []
    for start, end in zip(starts, starts[1:]):
        group = arithmetic.total(values[start:end])
        halved = arithmetic.halve(arithmetic.add(group[:-1], group[-1]))
        terms.append(arithmetic.mul(halved, scale[start]))
    y = arithmetic.total(terms)
    if p.act_type == "int":
        y = ternary.wrap(y.astype(object), p.acc_bits)
    return [int(value) for value in y], 0


def reference_dot_products(p, transaction):
    """The ``int`` result computed directly, ``Σ scale · Σ a·value(w)`` (slow, obviously
    correct), for checking :func:`dot_products`."""
    prec = [int(value) for value in transaction["prec"]]
    if not all(1 <= value <= p.weight_bits for value in prec):
        return [0] * p.lanes, 1
    starts = _groups(p, len(prec))
    y = []
    for lane in range(p.lanes):
        total = 0
        for beat, a in enumerate(transaction["a"]):
            scale = int(transaction["scale"][max(s for s in starts if s <= beat)][lane])
            for j, activation in enumerate(a):
                code = int(transaction["w"][beat][lane][j]) & ((1 << prec[beat]) - 1)
                if p.weight_signed and code >> (prec[beat] - 1):
                    code -= 1 << prec[beat]
                total += scale * int(activation) * code
        y.append(int(ternary.wrap(total, p.acc_bits)))
    return y, 0


# --- test vectors -----------------------------------------------------------------------

def _transaction(p, a, w, prec, scale):
    n = p.n_tables * p.mu
    a = np.asarray(a, dtype=np.int64).reshape(-1, n)
    beats = a.shape[0]
    return {"a": a,
            "w": np.broadcast_to(np.asarray(w, dtype=np.int64), (beats, p.lanes, n)).copy(),
            "prec": np.broadcast_to(np.asarray(prec, dtype=np.int64), (beats,)).copy(),
            "scale": np.broadcast_to(np.asarray(scale, dtype=np.int64), (beats, p.lanes)).copy()}


def _scales(p, rng, shape):
    if p.act_type == "int":
        return rng.integers(0, 1 << p.scale_bits, shape)
    return ternary.random_activations(p, rng, shape)


def _unit_scale(p):
    return 1 if p.act_type == "int" else fp.from_float64(1.0, fp.FORMATS[p.act_type])


def _max_scale(p):
    return (1 << p.scale_bits) - 1 if p.act_type == "int" else _unit_scale(p)


def _extreme_codes(p):
    """The codes of the most negative and the largest weight at full precision."""
    top = 1 << (p.weight_bits - 1)
    return (top, top - 1) if p.weight_signed else (0, (1 << p.weight_bits) - 1)


def directed(p):
    """Edge cases: extremes over two groups, zero weights and scales, every code at every
    precision, every plane pattern of a table, precision changes and invalid precisions,
    float specials, the longest dot product at the extremes."""
    n, lanes, wb = p.n_tables * p.mu, p.lanes, p.weight_bits
    bpg = p.group_size // n
    rng = np.random.default_rng(2025)
    unit, big = _unit_scale(p), _max_scale(p)
    if p.act_type == "int":
        extremes = [-(1 << (p.act_bits - 1)), (1 << (p.act_bits - 1)) - 1]
    else:
        fmt = fp.FORMATS[p.act_type]
        extremes = [fmt.sign_bit | fmt.max_finite, fmt.max_finite, 1, fmt.sign_bit | 1]
    cases = []
    for value in extremes:
        for code in _extreme_codes(p):
            cases.append(_transaction(p, np.full((bpg + 1, n), value), code, wb, big))
    cases.append(_transaction(p, ternary.random_activations(p, rng, (2, n)), 0, wb, big))
    cases.append(_transaction(p, ternary.random_activations(p, rng, (1, n)),
                              rng.integers(0, 1 << wb, (lanes, n)), wb, 0))
    # Every code at every precision, spread over lanes and positions.
    codes = np.arange(1 << wb)
    for prec in range(1, wb + 1):
        for start in range(0, len(codes), lanes):
            chunk = np.resize(np.roll(codes, -start), (lanes, n))
            cases.append(_transaction(p, ternary.random_activations(p, rng, (1, n)), chunk,
                                      prec, unit))
    # Every plane pattern of a table's mu bits, in every plane.
    patterns = np.arange(1 << p.mu)
    bits = (patterns[:, None] >> np.arange(p.mu)) & 1  # (patterns, mu)
    slots = lanes * p.n_tables
    for plane in range(wb):
        for start in range(0, len(bits), slots):
            chunk = np.resize(bits[start:start + slots], (slots, p.mu)).reshape(lanes, n)
            cases.append(_transaction(p, ternary.random_activations(p, rng, (1, n)),
                                      chunk << plane, wb, unit))
    # A precision and scale change on every beat, over more than two groups.
    beats = 2 * bpg + 1
    transaction = _transaction(p, ternary.random_activations(p, rng, (beats, n)),
                               rng.integers(0, 1 << wb, (beats, lanes, n)),
                               rng.integers(1, wb + 1, beats), 0)
    transaction["scale"] = _scales(p, rng, (beats, lanes))
    cases.append(transaction)
    # Invalid precisions flag the dot product and must not affect the next one.
    for bad in [0] + list(range(wb + 1, 1 << prec_bits(wb))):
        cases.append(_transaction(p, ternary.random_activations(p, rng, (2, n)),
                                  rng.integers(0, 1 << wb, (2, lanes, n)), [wb, bad], unit))
        cases.append(_transaction(p, ternary.random_activations(p, rng, (1, n)),
                                  rng.integers(0, 1 << wb, (1, lanes, n)), wb, unit))
    if p.act_type != "int":
        fmt = fp.FORMATS[p.act_type]
        for value in ternary._float_specials(fmt):
            a = ternary.random_activations(p, rng, (1, n))
            a[0, rng.integers(0, n)] = value
            cases.append(_transaction(p, a, rng.integers(0, 1 << wb, (1, lanes, n)), wb,
                                      _scales(p, rng, lanes)))
        cases.append(_transaction(p, ternary.random_activations(p, rng, (1, n)),
                                  rng.integers(0, 1 << wb, (lanes, n)), wb,
                                  rng.choice(ternary._float_specials(fmt), lanes)))
    # The longest dot product the width rule covers, at the extremes (capped for run time).
    beats = max(1, min(p.max_len // n, 64))
    if p.act_type == "int":
        cases.append(_transaction(p, np.full((beats, n), extremes[0]), _extreme_codes(p)[0],
                                  wb, big))
    else:
        cases.append(_transaction(p, ternary.random_activations(p, rng, (beats, n)),
                                  rng.integers(0, 1 << wb, (beats, lanes, n)), wb,
                                  _scales(p, rng, lanes)))
    return cases


def random_transactions(p, count, seed):
    """``count`` random transactions of up to three groups; one precision per dot product,
    now and then one per beat or an invalid one."""
    rng = np.random.default_rng(seed)
    n = p.n_tables * p.mu
    bpg = p.group_size // n
    cases = []
    for _ in range(count):
        beats = int(rng.integers(1, 3 * bpg + 2))
        prec = np.full(beats, rng.integers(1, p.weight_bits + 1))
        if rng.random() < 0.1:
            prec = rng.integers(1, p.weight_bits + 1, beats)
        if rng.random() < 0.03:
            prec[rng.integers(0, beats)] = rng.choice([0] + list(range(
                p.weight_bits + 1, 1 << prec_bits(p.weight_bits))))
        cases.append({"a": ternary.random_activations(p, rng, (beats, n)),
                      "w": rng.integers(0, 1 << p.weight_bits, (beats, p.lanes, n)),
                      "prec": prec, "scale": _scales(p, rng, (beats, p.lanes))})
    return cases


def to_vectors(p, transactions):
    """Stream vectors (see :mod:`hwgen.golden`) for ``transactions``."""
    return ternary.dot_product_vectors(
        transactions,
        lambda transaction, index: {"a": transaction["a"][index].tolist(),
                                    "w": transaction["w"][index].tolist(),
                                    "prec": int(transaction["prec"][index]),
                                    "scale": transaction["scale"][index].tolist()},
        lambda transaction: dot_products(p, transaction))


def vectors(p, count, seed):
    """Directed edge cases followed by ``count`` random transactions."""
    return to_vectors(p, directed(p) + random_transactions(p, count, seed))
