"""The NTT golden model against slow, obviously correct references: the O(n²) sums that
define the transforms, the cyclic DFT they twist, and schoolbook negacyclic multiplication."""
import random

import pytest

from hwgen.golden import moduli
from hwgen.golden import ntt as golden

# (q, n): Kyber's largest full NTT, Falcon, the Kyber-friendly 7681, Dilithium, BabyBear,
# Goldilocks (products past 64 bits) and a SEAL prime.
CASES = [(3329, 128), (12289, 16), (12289, 64), (7681, 8), (7681, 256), (8380417, 32),
         (moduli.lookup("babybear"), 16), (moduli.lookup("goldilocks"), 32),
         (moduli.lookup("seal_8192_0"), 8)]


def label(case):
    return f"q{case[0]}-n{case[1]}"


def naive_forward(a, q, root):
    n = len(a)
    return [sum(a[j] * pow(root, (2 * k + 1) * j, q) for j in range(n)) % q for k in range(n)]


def naive_inverse(a, q, root):
    n = len(a)
    scale = pow(n, -1, q)
    return [scale * sum(a[k] * pow(root, -(2 * k + 1) * j, q) for k in range(n)) % q
            for j in range(n)]


def naive_cyclic_dft(a, q, omega):
    n = len(a)
    return [sum(a[j] * pow(omega, k * j, q) for j in range(n)) % q for k in range(n)]


def schoolbook_negacyclic(a, b, q):
    """a·b mod (x^n + 1, q): every product, wrapped with a sign change past x^n."""
    n = len(a)
    c = [0] * n
    for i in range(n):
        for j in range(n):
            if i + j < n:
                c[i + j] += a[i] * b[j]
            else:
                c[i + j - n] -= a[i] * b[j]
    return [value % q for value in c]


def random_poly(q, n, rng):
    return [rng.randrange(q) for _ in range(n)]


@pytest.mark.parametrize("case", CASES, ids=label)
def test_psi_is_a_primitive_2n_th_root(case):
    q, n = case
    root = golden.psi(q, n)
    assert pow(root, n, q) == q - 1 and pow(root, 2 * n, q) == 1


@pytest.mark.parametrize("case", CASES, ids=label)
def test_forward_and_inverse_match_the_defining_sums(case):
    q, n = case
    rng = random.Random(q ^ n)
    root = golden.psi(q, n)
    a = random_poly(q, n, rng)
    assert golden.forward(a, q) == naive_forward(a, q, root)
    assert golden.inverse(a, q) == naive_inverse(a, q, root)


@pytest.mark.parametrize("case", CASES, ids=label)
def test_forward_is_the_cyclic_dft_of_the_psi_twisted_input(case):
    q, n = case
    rng = random.Random(n)
    root = golden.psi(q, n)
    a = random_poly(q, n, rng)
    twisted = [value * pow(root, j, q) % q for j, value in enumerate(a)]
    assert golden.forward(a, q) == naive_cyclic_dft(twisted, q, root * root % q)


@pytest.mark.parametrize("case", CASES, ids=label)
def test_round_trips(case):
    q, n = case
    rng = random.Random(3)
    for a in (random_poly(q, n, rng), [0] * n, [q - 1] * n, [1] + [0] * (n - 1)):
        assert golden.inverse(golden.forward(a, q), q) == a
        assert golden.forward(golden.inverse(a, q), q) == a


@pytest.mark.parametrize("case", CASES, ids=label)
def test_negacyclic_polynomial_multiplication_matches_schoolbook(case):
    q, n = case
    rng = random.Random(5)
    a, b = random_poly(q, n, rng), random_poly(q, n, rng)
    pointwise = [x * y % q for x, y in zip(golden.forward(a, q), golden.forward(b, q))]
    assert golden.inverse(pointwise, q) == schoolbook_negacyclic(a, b, q)


def test_impulses_and_constants():
    q, n = 12289, 16
    root = golden.psi(q, n)
    assert golden.forward([1] + [0] * (n - 1), q) == [1] * n
    assert golden.forward([0, 1] + [0] * (n - 2), q) == [pow(root, 2 * k + 1, q) for k in range(n)]
    assert golden.inverse([1] * n, q) == [1] + [0] * (n - 1)


def test_twiddle_tables_are_bit_reversed_powers():
    q, n = 7681, 8
    forward, inverse = golden.twiddles(q, n)
    root = golden.psi(q, n)
    assert [golden.bit_reverse(k, 3) for k in range(8)] == [0, 4, 2, 6, 1, 5, 3, 7]
    assert forward == tuple(pow(root, golden.bit_reverse(k, 3), q) for k in range(n))
    # Inverse twiddles carry the 1/2 of the halving Gentleman-Sande stages.
    assert all(f * i * 2 % q == 1 for f, i in zip(forward, inverse))


@pytest.mark.parametrize("q,n,problem", [
    (12289, 2048, None), (12289, 4096, "2·4096 = 8192 does not divide q − 1"),
    (3329, 256, "2·256 = 512 does not divide q − 1"), (12288, 8, "not prime"), (7681, 256, None),
])
def test_transform_problems(q, n, problem):
    assert golden.transform_problem(q, n) == problem


def test_max_size():
    assert golden.max_size(3329) == 128
    assert golden.max_size(12289) == 2048
    assert golden.max_size(8380417) == 4096
    with pytest.raises(ValueError, match="no negacyclic transform into 256 blocks over 3329: "
                                         "2·256 = 512"):
        golden.psi(3329, 256)


# Incomplete transforms: (q, n, layers), Kyber's 7 of 8 layers first.
INCOMPLETE = [(3329, 256, 7), (3329, 16, 3), (12289, 32, 2), (8380417, 16, 1)]


def naive_residues(a, q, root, blocks):
    """a mod (x^s − root^(2k+1)) for every k < blocks, s = n / blocks, block after block."""
    span = len(a) // blocks
    return [sum(a[j + span * t] * pow(root, (2 * k + 1) * t, q) for t in range(blocks)) % q
            for k in range(blocks) for j in range(span)]


def blockwise_product(x, y, q, root, blocks):
    """Products of the residues modulo x^s − root^(2k+1), block by block."""
    span, result = len(x) // blocks, []
    for k in range(blocks):
        zeta = pow(root, 2 * k + 1, q)
        u, v = x[k * span:(k + 1) * span], y[k * span:(k + 1) * span]
        c = [0] * span
        for i in range(span):
            for j in range(span):
                term = u[i] * v[j]
                c[(i + j) % span] += term * zeta if i + j >= span else term
        result += [value % q for value in c]
    return result


@pytest.mark.parametrize("q,n,layers", INCOMPLETE)
def test_incomplete_transforms_match_the_residues_and_multiply(q, n, layers):
    rng = random.Random(layers)
    blocks = 1 << layers
    root = golden.psi(q, blocks)
    a, b = random_poly(q, n, rng), random_poly(q, n, rng)
    assert golden.forward(a, q, layers) == naive_residues(a, q, root, blocks)
    assert golden.inverse(golden.forward(a, q, layers), q, layers) == a
    product = blockwise_product(golden.forward(a, q, layers), golden.forward(b, q, layers), q,
                                root, blocks)
    assert golden.inverse(product, q, layers) == schoolbook_negacyclic(a, b, q)


def test_coefficients_must_be_reduced():
    with pytest.raises(ValueError, match=r"coefficients must lie in \[0, 7681\)"):
        golden.forward([7681] + [0] * 7, 7681)



def test_expected_outputs_per_transform():
    q, n = 7681, 8
    a = list(range(1, 9))
    beats = [beat for values, inverse in [(a, 0), (a[:3], 0), (a + [1, 2], 0),
                                          (golden.forward(a, q), 1), ([q] + a[1:], 0)]
             for beat in golden.command_beats(values, inverse)]
    beats += golden.command_beats(a)[:5]  # an unfinished transform
    result = golden.expected_outputs(beats, q, n)
    assert [beat["coeff"] for beat in result[:8]] == golden.forward(a, q)
    assert [beat["last"] for beat in result[:8]] == [0] * 7 + [1]
    assert result[8] == result[9] == golden.ERROR_BEAT
    assert [beat["coeff"] for beat in result[10:18]] == a
    assert all(beat["err"] == 0 for beat in result[10:18])
    assert result[18:] == [golden.ERROR_BEAT]


def test_direction_comes_from_the_first_beat():
    q, n = 7681, 8
    beats = golden.command_beats(list(range(8)))
    beats[3]["inverse"] = 1
    assert [b["coeff"] for b in golden.expected_outputs(beats, q, n)] == golden.forward(
        list(range(8)), q)


class Sized:
    q, n, coeff_bits, layers = 12289, 16, 14, None


def test_vectors_are_deterministic_and_cover_every_shape():
    first, again = golden.vectors(Sized, 40, 9), golden.vectors(Sized, 40, 9)
    assert first == again
    outputs = first["outputs"]["o"]
    errors = sum(beat["err"] for beat in outputs)
    transforms = sum(beat["last"] for beat in outputs) - errors
    assert errors >= 7 and transforms >= 30
    inputs = first["inputs"]["i"]
    assert any(beat["coeff"] == (1 << 14) - 1 for beat in inputs)
    assert any(beat["inverse"] for beat in inputs) and inputs[-1]["last"] == 1
    assert golden.expected_outputs(inputs, 12289, 16) == outputs


def test_large_transforms_get_proportionally_fewer_random_transforms():
    assert golden.random_transform_count(8, 60) == golden.random_transform_count(16, 60) == 60
    assert golden.random_transform_count(256, 60) == 4
    assert golden.random_transform_count(4096, 1) == 1
