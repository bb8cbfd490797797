"""The modular-reduction golden model: the specification against slow references, and the
bit-accurate method plans against the specification, with every intermediate bound asserted."""
import random

import pytest

from hwgen.golden import moduli
from hwgen.golden import modred as golden


def schoolbook_mod(x, q):
    """Restoring binary long division, one bit at a time: obviously x mod q."""
    remainder = 0
    for bit in reversed(range(max(x.bit_length(), 1))):
        remainder = (remainder << 1) | ((x >> bit) & 1)
        if remainder >= q:
            remainder -= q
    return remainder


def slow_montgomery(x, q, r_bits):
    """The r in [0, q) with r · 2^r_bits ≡ x (mod q), by search (small q only)."""
    return next(r for r in range(q) if (r << r_bits) % q == x % q)


def plans(q, in_bits, k=4):
    result = {method: golden.build_plan(q, in_bits, method, k=k)
              for method in ("lut", "iterative", "barrett")}
    groups = golden.hybrid_groups(q, in_bits, k)
    for lut_groups in sorted({0, min(1, groups), groups // 2, groups}):
        for merge_level in (0, 1, 6):
            result[f"hybrid{lut_groups}.{merge_level}"] = golden.build_plan(
                q, in_bits, "hybrid", k=k, lut_groups=lut_groups, merge_level=merge_level)
        # Block-RAM chain tables: every addition deferred past its table read.
        result[f"hybrid{lut_groups}.bram"] = golden.build_plan(
            q, in_bits, "hybrid", k=k, lut_groups=lut_groups, table_storage="bram")
    if q % 2:
        n = q.bit_length()
        for r_bits in sorted({n, max(n, in_bits - n + 1)}):
            result[f"montgomery{r_bits}"] = golden.build_plan(q, in_bits, "montgomery",
                                                              r_bits=r_bits)
    if golden.special_folds(q, in_bits) is not None:
        result["special"] = golden.build_plan(q, in_bits, "special")
    return result


def test_specification_matches_long_division():
    rng = random.Random(5)
    for name in ("kyber", "goldilocks", "bn254_p", "bls12_381_p", "modp1024"):
        q = moduli.lookup(name)
        for x in golden.edge_inputs(q, 2 * q.bit_length(), 4)[:20] + [
                rng.getrandbits(2 * q.bit_length()) for _ in range(20)]:
            assert golden.reduce(x, q) == schoolbook_mod(x, q)


@pytest.mark.parametrize("q,r_bits", [(13, 4), (13, 9), (3329, 13), (12289, 15)])
def test_montgomery_specification_matches_a_search(q, r_bits):
    for x in list(range(300)) + [q * q - 1, (1 << (2 * q.bit_length())) - 1]:
        assert golden.montgomery_reduce(x, q, r_bits) == slow_montgomery(x, q, r_bits)


@pytest.mark.parametrize("q,in_bits,k", [(3, 4, 1), (5, 6, 2), (13, 8, 3), (13, 10, 4),
                                         (251, 12, 4), (1000, 12, 3), (4095, 12, 5),
                                         (31, 12, 2), (127, 14, 4)])
def test_every_method_is_exact_for_every_input_of_a_small_modulus(q, in_bits, k):
    for key, plan in plans(q, in_bits, k).items():
        for x in range(1 << in_bits):
            assert plan.run(x) == golden.expected(x, q, plan.method, plan.r_bits), (key, x)


@pytest.mark.parametrize("name", ["kyber", "falcon", "dilithium", "babybear", "koalabear",
                                  "mersenne31", "goldilocks", "seal_8192_0", "secp128r1_n",
                                  "bn254_r",
                                  # 10 to 30 s each: every plan on ~600 single-bit inputs.
                                  pytest.param("curve25519_p", marks=pytest.mark.slow),
                                  pytest.param("bls12_381_p", marks=pytest.mark.slow)])
def test_every_method_is_exact_on_edge_and_random_inputs_of_real_moduli(name):
    q = moduli.lookup(name)
    in_bits = 2 * q.bit_length()
    rng = random.Random(name)
    inputs = golden.edge_inputs(q, in_bits, 4) + golden.random_inputs(q, in_bits, 60, rng)
    for key, plan in plans(q, in_bits).items():
        for x in inputs:
            assert plan.run(x) == golden.expected(x, q, plan.method, plan.r_bits), (key, x)


def test_edge_inputs_cover_the_issue_list():
    q, in_bits = moduli.lookup("dilithium"), 46
    n = q.bit_length()
    top = (1 << in_bits) - 1
    multiple = top // q * q
    inputs = golden.edge_inputs(q, in_bits, 4)
    for x in [0, 1, q - 1, q, 2 * q - 1, 2 * q, 1 << n, (q - 1) ** 2, top, multiple - 1,
              multiple, multiple + 1, golden.worst_table_input(q, in_bits, 4)]:
        assert x in inputs
    assert all(1 << bit in inputs for bit in range(in_bits))
    assert all(0 <= x <= top for x in inputs) and len(set(inputs)) == len(inputs)


def test_worst_table_input_puts_every_group_at_its_largest_entry():
    q, in_bits, k = moduli.lookup("kyber"), 24, 4
    x = golden.worst_table_input(q, in_bits, k)
    for lsb in range(12, 24, k):
        field = (x >> lsb) & 0xF
        assert (field << lsb) % q == max((g << lsb) % q for g in range(16))
    assert x & 0xFFF == 0xFFF


def test_a_bound_too_small_fails_the_bit_accurate_model():
    q = moduli.lookup("kyber")
    plan = golden.build_plan(q, 24, "lut")
    x = golden.worst_table_input(q, 24, 4)
    plan.run(x)
    lane = next(iter(plan.bounds[2]))
    plan.bounds[2][lane] = 0
    with pytest.raises(AssertionError, match=f"lane {lane}"):
        plan.run(x)


def test_barrett_remainder_needs_one_subtraction_and_one_more_when_truncated():
    for name in ("kyber", "goldilocks", "bn254_p", "modp1024"):
        q = moduli.lookup(name)
        for in_bits in (q.bit_length(), 2 * q.bit_length(), 2 * q.bit_length() + 7):
            subtractions = 2 if golden.barrett_truncation(q, in_bits) else 1
            assert golden.barrett_remainder_bound(q, in_bits) < (subtractions + 1) * q


def test_barrett_quotient_is_whole_where_a_dsp_block_takes_it():
    for name in ("kyber", "falcon", "dilithium"):
        q = moduli.lookup(name)
        assert golden.barrett_truncation(q, 2 * q.bit_length()) == 0


@pytest.mark.parametrize("name", ["babybear", "secp128r1_n", "bn254_r", "bls12_381_p"])
def test_truncated_quotient_is_low_by_at_most_one_and_never_negative(name):
    q = moduli.lookup(name)
    in_bits = 2 * q.bit_length()
    s1, s2 = golden.barrett_shifts(q, in_bits)
    mu = (1 << (s1 + s2)) // q
    truncate = golden.barrett_truncation(q, in_bits)
    assert truncate > 0
    step = golden.MulConst("qhat", "x", mu, shift_in=s1, shift_out=s2, truncate=truncate)
    rng = random.Random(name)
    top = (1 << in_bits) - 1
    for x in [0, 1 << s1, top, *(rng.getrandbits(in_bits) for _ in range(2000))]:
        exact = ((x >> s1) * mu) >> s2
        assert exact - 1 <= step.apply({"x": x})["qhat"] <= exact


def test_horner_accumulator_stays_below_two_to_the_n_plus_q():
    for name in ("kyber", "goldilocks", "bn254_p"):
        q = moduli.lookup(name)
        for k in (1, 4, 8):
            assert golden.horner_acc_bound(q, k) < (1 << q.bit_length()) + q


@pytest.mark.parametrize("name,folds", [("mersenne31", 1), ("goldilocks", 2), ("dilithium", 3),
                                        ("secp256k1_p", 2), ("curve25519_p", 2),
                                        ("babybear", None), ("bn254_p", None), ("p256_p", None)])
def test_special_forms(name, folds):
    q = moduli.lookup(name)
    assert golden.special_folds(q, 2 * q.bit_length()) == folds


def test_naf_digits_sum_to_the_constant_and_are_not_adjacent():
    for constant in [1, 3, 7, 977, 2**32 - 1, 2**32 + 977, moduli.lookup("bn254_p")]:
        digits = golden.naf(constant)
        assert sum(sign << shift for shift, sign in digits) == constant
        shifts = [shift for shift, _ in digits]
        assert all(b - a >= 2 for a, b in zip(shifts, shifts[1:]))
