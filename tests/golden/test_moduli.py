"""The named moduli against their defining formulas and documented properties."""
import math

import mpmath
import pytest
import sympy

from hwgen.golden import moduli


def two_adicity(value):
    return ((value - 1) & -(value - 1)).bit_length() - 1


@pytest.mark.parametrize("name", moduli.names())
def test_every_named_modulus_is_prime(name):
    assert sympy.isprime(moduli.lookup(name))


def test_bn254_from_its_curve_parameter():
    u = 4965661367192848881
    assert moduli.lookup("bn254_p") == 36 * u**4 + 36 * u**3 + 24 * u**2 + 6 * u + 1
    assert moduli.lookup("bn254_r") == 36 * u**4 + 36 * u**3 + 18 * u**2 + 6 * u + 1
    assert moduli.lookup("bn254_p") % 4 == 3
    assert two_adicity(moduli.lookup("bn254_r")) == 28


@pytest.mark.parametrize("curve,x,p_bits,r_bits,r_adicity", [
    ("bls12_381", -0xD201000000010000, 381, 255, 32),
    ("bls12_377", 0x8508C00000000001, 377, 253, 47),
])
def test_bls12_from_its_curve_parameter(curve, x, p_bits, r_bits, r_adicity):
    r = x**4 - x**2 + 1
    p = (x - 1) ** 2 * r // 3 + x
    assert (x - 1) ** 2 * r % 3 == 0
    assert moduli.lookup(f"{curve}_p") == p
    assert p.bit_length() == p_bits and r.bit_length() == r_bits
    assert two_adicity(r) == r_adicity
    if curve == "bls12_381":
        assert moduli.lookup("bls12_381_r") == r
    else:
        assert two_adicity(p) == 46


@pytest.mark.parametrize("name,hex_digits", [
    ("secp256k1_p", "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F"),
    ("curve25519_p", "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFED"),
    ("p256_p", "FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF"),
    ("goldilocks", "FFFFFFFF00000001"),
    ("babybear", "78000001"),
    ("koalabear", "7F000001"),
    ("mersenne31", "7FFFFFFF"),
])
def test_special_forms_have_their_published_values(name, hex_digits):
    assert moduli.lookup(name) == int(hex_digits, 16)


@pytest.mark.parametrize("name,value,adicity", [
    ("goldilocks", 18446744069414584321, 32), ("babybear", 2013265921, 27),
    ("koalabear", 2130706433, 24), ("kyber", 3329, 8), ("dilithium", 8380417, 13),
    ("falcon", 12289, 12),
])
def test_ntt_friendly_primes(name, value, adicity):
    assert moduli.lookup(name) == value
    assert two_adicity(value) == adicity


def test_secp128r1_order_is_within_the_hasse_bound_of_its_field():
    p = 2**128 - 2**97 - 1
    n = moduli.lookup("secp128r1_n")
    assert n.bit_length() == 128
    assert (p + 1 - n) ** 2 <= 4 * p


def test_modp1024_from_the_digits_of_pi():
    mpmath.mp.prec = 1200
    pi_bits = int(mpmath.floor(mpmath.pi * mpmath.mpf(2) ** 894))
    assert moduli.lookup("modp1024") == 2**1024 - 2**960 - 1 + 2**64 * (pi_bits + 129093)


SEAL_BITS = {1024: [27], 2048: [54], 4096: [36, 36, 37], 8192: [43, 43, 44, 44, 44],
             16384: [48] * 3 + [49] * 6, 32768: [55] * 15 + [56]}


@pytest.mark.parametrize("degree", sorted(SEAL_BITS))
def test_seal_default_primes_are_ntt_friendly_with_the_documented_sizes(degree):
    primes = [moduli.lookup(f"seal_{degree}_{index}") for index in range(len(SEAL_BITS[degree]))]
    assert [prime.bit_length() for prime in primes] == SEAL_BITS[degree]
    assert f"seal_{degree}_{len(primes)}" not in moduli.MODULI
    for prime in primes:
        assert prime % (2 * degree) == 1
    assert len(set(primes)) == len(primes)
    assert math.prod(primes).bit_length() <= sum(SEAL_BITS[degree])


def test_lookup_passes_integers_and_rejects_unknown_names():
    assert moduli.lookup(97) == 97
    with pytest.raises(KeyError, match=r"unknown modulus name 'goldilock'; did you mean "
                                       r"'goldilocks'\?"):
        moduli.lookup("goldilock")
