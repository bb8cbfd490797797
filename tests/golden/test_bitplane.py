"""The bit-plane golden model against plain Python loops and its width rule."""
import numpy as np
import pytest

from hwgen.cores.bitplane.params import BitplaneParams
from hwgen.golden import bitplane as golden
from hwgen.golden import float as fp

INT_CONFIGS = [
    dict(mu=3, n_tables=2, lanes=3, weight_bits=3),
    dict(mu=1, n_tables=3, lanes=2, weight_bits=4, weight_signed=False, group_size=6),
    dict(mu=4, n_tables=2, lanes=2, weight_bits=2, act_bits=16, scale_bits=16),
    dict(mu=2, n_tables=2, lanes=2, weight_bits=1, group_size=8, acc_bits=12),
    dict(mu=5, n_tables=1, lanes=1, weight_bits=4, act_bits=4, scale_bits=1),
]
FLOAT_CONFIGS = [
    dict(mu=2, n_tables=3, lanes=2, weight_bits=3, act_type="fp16", group_size=12),
    dict(mu=3, n_tables=2, lanes=1, weight_bits=2, act_type="bf16", weight_signed=False),
    dict(mu=1, n_tables=2, lanes=2, weight_bits=4, act_type="fp16", group_size=2),
]


def ids(kwargs):
    return "-".join(map(str, kwargs.values()))


def cases(p, count=20):
    return golden.directed(p) + golden.random_transactions(p, count, seed=3)


@pytest.mark.parametrize("kwargs", INT_CONFIGS, ids=ids)
def test_integer_results_are_the_scaled_dot_products(kwargs):
    p = BitplaneParams(**kwargs)
    for transaction in cases(p):
        assert golden.dot_products(p, transaction) == golden.reference_dot_products(
            p, transaction)


# --- floats: the order of operations, one scalar operation at a time ----------------------

def slow_entry(a, signs, fmt):
    """``Σ_j s_j·a_j`` for signs whose highest is +1, built as ``a_k ± entry(lower)``."""
    k = len(signs) - 1
    if k == 0:
        return int(a[0])
    lower = signs[:k]
    sign = lower[-1]
    entry = slow_entry(a, [s * sign for s in lower], fmt)
    return int(fp.add(a[k], entry if sign > 0 else fp.negate(entry, fmt), fmt))


def slow_tree(terms, fmt):
    while len(terms) > 1:
        terms = [int(fp.add(terms[i], terms[i + 1], fmt)) for i in range(0, len(terms) - 1, 2)
                 ] + ([terms[-1]] if len(terms) % 2 else [])
    return terms[0]


def slow_beat_value(p, a, codes, prec, fmt):
    result = 0
    for plane in range(prec - 1, -1, -1):
        terms = []
        for t in range(p.n_tables):
            signs = [2 * ((int(codes[t * p.mu + j]) >> plane) & 1) - 1 for j in range(p.mu)]
            negative = signs[-1] < 0
            if negative:
                signs = [-s for s in signs]
            entry = slow_entry(a[t * p.mu:(t + 1) * p.mu], signs, fmt)
            if negative != (p.weight_signed and plane == prec - 1):
                entry = int(fp.negate(entry, fmt))
            terms.append(entry)
        result = int(fp.add(fp.add(result, result, fmt), slow_tree(terms, fmt), fmt))
    return result


def slow_float_dot_products(p, transaction):
    fmt = fp.FORMATS[p.act_type]
    prec = [int(value) for value in transaction["prec"]]
    if not all(1 <= value <= p.weight_bits for value in prec):
        return [0] * p.lanes, 1
    bpg = p.group_size // (p.n_tables * p.mu)
    ones = [(1 << p.weight_bits) - 1] * (p.n_tables * p.mu)
    y = []
    for lane in range(p.lanes):
        total = None
        for start in range(0, len(prec), bpg):
            group = offset = None
            for beat in range(start, min(start + bpg, len(prec))):
                a = transaction["a"][beat]
                x = slow_beat_value(p, a, transaction["w"][beat][lane], prec[beat], fmt)
                x_off = slow_beat_value(p, a, ones, prec[beat], fmt)
                group = x if group is None else int(fp.add(group, x, fmt))
                offset = x_off if offset is None else int(fp.add(offset, x_off, fmt))
            half = fp.mul(fp.add(group, offset, fmt), fp.from_float64(0.5, fmt), fmt)
            term = int(fp.mul(half, transaction["scale"][start][lane], fmt))
            total = term if total is None else int(fp.add(total, term, fmt))
        y.append(total)
    return y, 0


@pytest.mark.parametrize("kwargs", FLOAT_CONFIGS, ids=ids)
def test_float_results_follow_the_order_of_operations(kwargs):
    p = BitplaneParams(**kwargs)
    for transaction in cases(p, count=8):
        assert golden.dot_products(p, transaction) == slow_float_dot_products(p, transaction)


def test_table_entries_are_the_all_nonzero_ternary_patterns():
    for mu in range(1, 6):
        patterns = golden.ternary.trits_of_values(golden.table_values(mu), mu)
        expected = [[2 * ((r >> j) & 1) - 1 for j in range(mu - 1)] + [1]
                    for r in range(1 << (mu - 1))]
        assert patterns.tolist() == expected


@pytest.mark.parametrize("signed", [True, False])
def test_default_width_holds_the_extremes_exactly(signed):
    p = BitplaneParams(mu=2, n_tables=2, lanes=1, weight_bits=3, weight_signed=signed,
                       max_len=12, group_size=4)
    a = -(1 << 7)
    code = 4 if signed else 7
    transaction = {"a": np.full((3, 4), a), "w": np.full((3, 1, 4), code),
                   "prec": np.full(3, 3), "scale": np.full((3, 1), 255)}
    exact = 12 * a * (-4 if signed else 7) * 255
    assert golden.dot_products(p, transaction) == ([exact], 0)
    assert exact.bit_length() + 1 <= p.acc_bits


def test_invalid_precision_flags_the_dot_product():
    p = BitplaneParams(mu=2, n_tables=1, lanes=2, weight_bits=3)
    for bad in (0, 4):
        transaction = {"a": np.ones((2, 2), dtype=int), "w": np.ones((2, 2, 2), dtype=int),
                       "prec": np.array([3, bad]), "scale": np.ones((2, 2), dtype=int)}
        assert golden.dot_products(p, transaction) == ([0, 0], 1)
