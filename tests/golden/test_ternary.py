"""The ternary golden model against plain Python loops, its encodings and its width rule."""
import itertools

import numpy as np
import pytest

from hwgen.cores.ternary.params import AddSubParams, LutParams, MacParams
from hwgen.golden import float as fp
from hwgen.golden import ternary as golden

PARAMS = {"lut": LutParams, "addsub": AddSubParams, "mac": MacParams}


# --- a slow, obviously-correct reference -----------------------------------------------

def slow_trits(value, mu):
    """Balanced-ternary digits of ``value``, lowest first, by repeated division."""
    digits = []
    for _ in range(mu):
        digit = value % 3
        if digit == 2:
            digit = -1
        digits.append(digit)
        value = (value - digit) // 3
    assert value == 0
    return digits


def slow_decode_lane(codes, p):
    """``(weights, valid)`` of one lane's codes, one code at a time."""
    n = p.n_tables * p.mu
    weights, valid = [], True
    if golden.is_value_format(p.weight_format):
        return [int(code) for code in codes], True
    for code in codes:
        code = int(code)
        if p.weight_format == "key":
            half = (3 ** p.mu - 1) // 2
            sign, magnitude = code >> golden.mag_bits(p.mu), code % (1 << golden.mag_bits(p.mu))
            if magnitude > half or (sign and magnitude == 0):
                valid, magnitude = False, 0
            weights += slow_trits(-magnitude if sign else magnitude, p.mu)
        elif p.weight_format == "code2":
            weights.append({0: 0, 1: 1, 3: -1, 2: 0}[code])
            valid &= code != 2
        else:
            if code >= 243:
                valid, code = False, 121
            for _ in range(5):
                weights.append(code % 3 - 1)
                code //= 3
    return weights[:n], valid


class SlowNumbers:
    def __init__(self, act_type):
        self.fmt = fp.FORMATS.get(act_type)

    def add(self, x, y):
        return x + y if self.fmt is None else int(fp.add(x, y, self.fmt))

    def negate(self, x):
        return -x if self.fmt is None else x ^ self.fmt.sign_bit

    def times(self, x, weight):
        if self.fmt is None:
            return x * weight
        one = self.fmt.bias << self.fmt.man_bits
        pattern = {0: 0, 1: one, -1: one | self.fmt.sign_bit}[weight]
        return self.mul(x, pattern)

    def mul(self, x, y):
        return x * y if self.fmt is None else int(fp.mul(x, y, self.fmt))


def slow_entry(numbers, group, pattern):
    """Σ pattern·group in the canonical order: the highest nonzero weight's activation plus
    the (signed) entry of the lower weights; a pattern led by −1 is its negation's entry,
    negated."""
    nonzero = [j for j, weight in enumerate(pattern) if weight]
    if not nonzero:
        return 0
    k = nonzero[-1]
    if pattern[k] < 0:
        return numbers.negate(slow_entry(numbers, group, [-weight for weight in pattern]))
    lower = pattern[:k] + [0] * (len(pattern) - k)
    if not any(lower):
        return group[k]
    return numbers.add(group[k], slow_entry(numbers, group, lower))


def slow_tree(numbers, terms):
    if len(terms) == 1:
        return terms[0]
    pairs = [numbers.add(terms[i], terms[i + 1]) for i in range(0, len(terms) - 1, 2)]
    return slow_tree(numbers, pairs + ([terms[-1]] if len(terms) % 2 else []))


def slow_dot(p, transaction):
    numbers = SlowNumbers(p.act_type)
    ys, errs = [], []
    for lane in range(p.lanes):
        total, valid = None, True
        for beat, activations in enumerate(transaction["a"]):
            activations = [int(x) for x in activations]
            weights, ok = slow_decode_lane(transaction["w"][beat][lane], p)
            valid &= ok
            if p.architecture == "lut":
                terms = [slow_entry(numbers, activations[g * p.mu:(g + 1) * p.mu],
                                    weights[g * p.mu:(g + 1) * p.mu]) for g in range(p.n_tables)]
            elif p.architecture == "addsub":
                terms = [{0: 0, 1: x, -1: numbers.negate(x)}[w]
                         for x, w in zip(activations, weights)]
            elif golden.is_value_format(p.weight_format):
                terms = [numbers.mul(x, w) for x, w in zip(activations, weights)]
            else:
                terms = [numbers.times(x, w) for x, w in zip(activations, weights)]
            beat_sum = slow_tree(numbers, terms)
            total = beat_sum if total is None else numbers.add(total, beat_sum)
        if p.act_type == "int":
            total = (total + (1 << (p.acc_bits - 1))) % (1 << p.acc_bits) - (1 << (p.acc_bits - 1))
        ys.append(total if valid else 0)
        errs.append(int(not valid))
    return ys, errs


# --- tests ---------------------------------------------------------------------------

@pytest.mark.parametrize("mu", range(1, 6))
def test_every_group_round_trips_through_every_format(mu):
    groups = np.array(list(itertools.product((-1, 0, 1), repeat=mu)))
    keys = golden.encode_keys(groups)
    trits, valid = golden.decode_keys(keys, mu)
    assert valid.all() and (trits == groups).all()
    assert len(set(keys.tolist())) == 3 ** mu and keys.max() < 1 << golden.key_bits(mu)
    codes = golden.encode_code2(groups)
    assert (golden.decode_code2(codes)[0] == groups).all()
    packed = golden.encode_base3(groups)
    assert packed.max() < 243
    assert (golden.decode_base3(packed, mu)[0] == groups).all()


def test_key_sizes():
    assert [golden.half_size(mu) for mu in range(1, 6)] == [1, 4, 13, 40, 121]
    assert [golden.key_bits(mu) for mu in range(1, 6)] == [2, 4, 5, 7, 8]


def test_key_equals_code2_at_mu_1():
    for trit in (-1, 0, 1):
        assert golden.encode_keys([trit]) == golden.encode_code2(trit)


@pytest.mark.parametrize("mu", range(1, 6))
def test_every_key_decodes_as_specified(mu):
    p = LutParams(mu=mu, n_tables=1, lanes=1)
    keys = np.arange(1 << golden.key_bits(mu))
    trits, valid = golden.decode_keys(keys, mu)
    for key in keys:
        weights, ok = slow_decode_lane([key], p)
        assert ok == valid[key] and (not ok or weights == trits[key].tolist())
    assert (~valid).sum() == len(golden._invalid_codes(p))


def test_every_base3_byte_decodes_as_specified():
    p = LutParams(mu=5, n_tables=1, lanes=1, weight_format="base3")
    trits, valid = golden.decode_base3(np.arange(256)[:, None], 5)
    for byte in range(256):
        weights, ok = slow_decode_lane([byte], p)
        assert ok == valid[byte, 0] and weights == trits[byte].tolist()


@pytest.mark.parametrize("mu", range(1, 6))
def test_table_is_the_half_of_all_patterns_in_canonical_order(mu):
    patterns = golden.table_patterns(mu)
    assert len(patterns) == golden.half_size(mu)
    assert golden.group_values(patterns).tolist() == list(range(1, golden.half_size(mu) + 1))
    for pattern in patterns:  # the highest nonzero weight is +1
        assert pattern[np.flatnonzero(pattern)[-1]] == 1
    rng = np.random.default_rng(mu)
    groups = rng.integers(-128, 128, (6, mu))
    table = golden.build_table(groups, mu, golden.Arithmetic("int"))
    assert (table == groups @ patterns.T).all()
    numbers = SlowNumbers("fp16")
    floats = golden.random_activations(LutParams(act_type="fp16"), rng, (6, mu))
    table = golden.build_table(floats, mu, golden.Arithmetic("fp16"))
    for group, row in zip(floats.tolist(), table.tolist()):
        assert row == [slow_entry(numbers, group, list(pattern)) for pattern in patterns.tolist()]


def test_highest_digit():
    for v in range(1, 122):
        assert golden.highest_digit(v) == max(j for j, t in enumerate(slow_trits(v, 5)) if t)


@pytest.mark.parametrize("architecture", ["lut", "addsub", "mac"])
@pytest.mark.parametrize("kwargs", [
    dict(mu=3, n_tables=2, lanes=3),
    dict(mu=5, n_tables=1, lanes=2, weight_format="base3", act_bits=4, max_len=40),
    dict(mu=2, n_tables=3, lanes=2, weight_format="code2", act_bits=16, acc_bits=12),
    dict(mu=4, n_tables=2, lanes=2, act_type="fp16"),
    dict(mu=1, n_tables=5, lanes=2, act_type="bf16", weight_format="base3"),
    dict(mu=3, n_tables=3, lanes=2, act_type="fp16", weight_format="code2"),
], ids=lambda kwargs: "-".join(map(str, kwargs.values())))
def test_dot_products_match_plain_loops(architecture, kwargs):
    p = PARAMS[architecture](**kwargs)
    cases = golden.directed(p) + golden.random_transactions(p, 40, seed=8)
    errors = 0
    for case in cases:
        y, err = golden.dot_products(p, case)
        assert (y, err) == slow_dot(p, case)
        errors += sum(err)
    assert errors > 0


@pytest.mark.parametrize("kwargs", [
    dict(mu=3, n_tables=2, lanes=3, weight_format="int"),
    dict(mu=1, n_tables=4, lanes=2, act_bits=16, weight_format="int", acc_bits=20),
    dict(mu=2, n_tables=2, lanes=2, act_type="fp16", weight_format="fp16"),
    dict(mu=2, n_tables=2, lanes=2, act_type="bf16", weight_format="bf16"),
], ids=lambda kwargs: "-".join(map(str, kwargs.values())))
def test_full_width_products_match_plain_loops(kwargs):
    p = MacParams(**kwargs)
    for case in golden.directed(p) + golden.random_transactions(p, 40, seed=9):
        assert golden.dot_products(p, case) == slow_dot(p, case)


def test_value_formats_write_ternary_weights_as_values():
    p = MacParams(act_type="fp16", weight_format="fp16", mu=1, n_tables=3, lanes=1)
    assert golden.encode([[1, 0, -1]], p).tolist() == [[0x3C00, 0, 0xBC00]]
    p = MacParams(weight_format="int", mu=1, n_tables=3, lanes=1)
    assert golden.encode([[1, 0, -1]], p).tolist() == [[1, 0, -1]]


@pytest.mark.parametrize("weight_format", ["key", "code2", "base3"])
def test_integer_dot_products_are_the_int64_sums(weight_format):
    p = LutParams(mu=3, n_tables=3, lanes=4, act_bits=12, weight_format=weight_format)
    rng = np.random.default_rng(1)
    a = rng.integers(-2048, 2048, (7, 9))
    trits = rng.integers(-1, 2, (7, 4, 9))
    y, err = golden.dot_products(p, {"a": a, "w": golden.encode(trits, p)})
    assert err == [0] * 4
    assert y == np.einsum("bkn,bn->k", trits, a).tolist()


def test_an_invalid_code_flags_only_its_lane():
    p = LutParams(mu=2, n_tables=2, lanes=3)
    a = np.full((2, 4), 5)
    codes = golden.encode(np.ones((2, 3, 4), dtype=int), p)
    codes[1, 1, 0] = 7  # magnitude 7 > H = 4
    y, err = golden.dot_products(p, {"a": a, "w": codes})
    assert err == [0, 1, 0] and y == [40, 0, 40]


def test_default_acc_bits_is_exact_at_the_extremes():
    p = LutParams(mu=2, n_tables=2, lanes=1, act_bits=8, max_len=64)
    extreme = 64 * 128
    assert p.acc_bits == extreme.bit_length() + 1
    case = {"a": np.full((16, 4), -128), "w": golden.encode(-np.ones((16, 1, 4), dtype=int), p)}
    assert golden.dot_products(p, case) == ([extreme], [0])
    case["w"] = golden.encode(np.ones((16, 1, 4), dtype=int), p)
    assert golden.dot_products(p, case) == ([-extreme], [0])


def test_narrow_acc_bits_wrap():
    p = LutParams(mu=1, n_tables=1, lanes=1, act_bits=8, acc_bits=8)
    case = {"a": np.full((2, 1), 100), "w": golden.encode(np.ones((2, 1, 1), dtype=int), p)}
    assert golden.dot_products(p, case) == ([200 - 256], [0])


def test_float_architectures_differ_only_where_the_order_or_zero_weights_matter():
    fmt = fp.FP16
    lut, addsub, mac = (PARAMS[name](mu=2, n_tables=1, lanes=1, act_type="fp16")
                        for name in ("lut", "addsub", "mac"))
    one = 0x3C00
    weights = golden.encode(np.array([[[1, 0]]]), lut)
    # An infinite activation under a zero weight: skipped by the LUT and add/sub, NaN for MAC.
    case = {"a": np.array([[one, fmt.infinity]]), "w": weights}
    assert golden.dot_products(lut, case)[0] == [one]
    assert golden.dot_products(addsub, case)[0] == [one]
    assert golden.dot_products(mac, case)[0] == [fmt.canonical_nan]
