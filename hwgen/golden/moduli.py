"""Real moduli from cryptography, by name.

Pure Python (no hardware imports): the golden models, the parameter checks and the hardware
all read the same table. Every entry is an exact integer; ``tests/golden/test_moduli.py``
checks each against its defining formula (curve parameter polynomials, special forms, the
digits of π for the MODP group) and its documented properties (primality, 2-adicity, sizes).

Names are lower case; :func:`lookup` also accepts an integer and returns it unchanged.
"""
import dataclasses

from hwgen.params import did_you_mean

__all__ = ["Modulus", "MODULI", "lookup", "names"]


@dataclasses.dataclass(frozen=True)
class Modulus:
    name: str
    value: int
    doc: str

    @property
    def bits(self):
        return self.value.bit_length()


def _seal(degree, primes):
    """SEAL's default BFV/BGV coefficient-modulus primes for 128-bit security
    (``CoeffModulus::BFVDefault(degree)``), one entry per prime."""
    return [Modulus(f"seal_{degree}_{index}", prime,
                    f"SEAL default RNS prime {index} of {len(primes)} for N = {degree}")
            for index, prime in enumerate(primes)]


_TABLE = [
    Modulus("bn254_r", 21888242871839275222246405745257275088548364400416034343698204186575808495617,
            "BN254 (alt_bn128) scalar field order r"),
    Modulus("bn254_p", 21888242871839275222246405745257275088696311157297823662689037894645226208583,
            "BN254 (alt_bn128) base field prime p"),
    Modulus("bls12_381_r", 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001,
            "BLS12-381 scalar field order r"),
    Modulus("bls12_381_p", 0x1A0111EA397FE69A4B1BA7B6434BACD764774B84F38512BF6730D2A0F6B0F6241EABFFFEB153FFFFB9FEFFFFFFFFAAAB,
            "BLS12-381 base field prime p"),
    Modulus("bls12_377_p", 0x01AE3A4617C510EAC63B05C06CA1493B1A22D9F300F5138F1EF3622FBA094800170B5D44300000008508C00000000001,
            "BLS12-377 base field prime p"),
    Modulus("secp256k1_p", 2**256 - 2**32 - 977, "secp256k1 base field prime p = 2^256 - 2^32 - 977"),
    Modulus("curve25519_p", 2**255 - 19, "Curve25519 / Ed25519 prime 2^255 - 19"),
    Modulus("p256_p", 2**256 - 2**224 + 2**192 + 2**96 - 1,
            "NIST P-256 base field prime 2^256 - 2^224 + 2^192 + 2^96 - 1"),
    Modulus("secp128r1_n", 0xFFFFFFFE0000000075A30D1B9038A115,
            "SEC 2 secp128r1 group order n (a dense 128-bit prime)"),
    Modulus("goldilocks", 2**64 - 2**32 + 1, "Goldilocks prime 2^64 - 2^32 + 1 (Plonky2)"),
    Modulus("babybear", 2**31 - 2**27 + 1, "BabyBear prime 15 * 2^27 + 1 (RISC Zero, Plonky3)"),
    Modulus("koalabear", 2**31 - 2**24 + 1, "KoalaBear prime 127 * 2^24 + 1 (Plonky3)"),
    Modulus("mersenne31", 2**31 - 1, "Mersenne prime 2^31 - 1 (Circle STARKs)"),
    Modulus("kyber", 3329, "ML-KEM (Kyber) q = 13 * 2^8 + 1"),
    Modulus("dilithium", 8380417, "ML-DSA (Dilithium) q = 2^23 - 2^13 + 1"),
    Modulus("falcon", 12289, "Falcon q = 3 * 2^12 + 1"),
    Modulus("modp1024", int(
        "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
        "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
        "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
        "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF", 16),
            "RFC 2409 second Oakley group prime, 2^1024 - 2^960 - 1 + 2^64 (floor(2^894 pi) + 129093)"),
    *_seal(1024, [0x7E00001]),
    *_seal(2048, [0x3FFFFFFF000001]),
    *_seal(4096, [0xFFFFEE001, 0xFFFFC4001, 0x1FFFFE0001]),
    *_seal(8192, [0x7FFFFFD8001, 0x7FFFFFC8001, 0xFFFFFFFC001, 0xFFFFFF6C001, 0xFFFFFEBC001]),
    *_seal(16384, [0xFFFFFFFD8001, 0xFFFFFFFA0001, 0xFFFFFFF00001, 0x1FFFFFFF68001,
                   0x1FFFFFFF50001, 0x1FFFFFFEE8001, 0x1FFFFFFEA0001, 0x1FFFFFFE88001,
                   0x1FFFFFFE48001]),
    *_seal(32768, [0x7FFFFFFFE90001, 0x7FFFFFFFBF0001, 0x7FFFFFFFBD0001, 0x7FFFFFFFBA0001,
                   0x7FFFFFFFAA0001, 0x7FFFFFFFA50001, 0x7FFFFFFF9F0001, 0x7FFFFFFF7E0001,
                   0x7FFFFFFF770001, 0x7FFFFFFF380001, 0x7FFFFFFF330001, 0x7FFFFFFF2D0001,
                   0x7FFFFFFF170001, 0x7FFFFFFF150001, 0x7FFFFFFEF00001, 0xFFFFFFFFF70001]),
]

MODULI = {modulus.name: modulus for modulus in _TABLE}


def names():
    return list(MODULI)


def lookup(modulus):
    """The integer value of ``modulus`` (an int, or a name from :data:`MODULI`).

    Raises ``KeyError`` with a did-you-mean for an unknown name.
    """
    if isinstance(modulus, str):
        if modulus not in MODULI:
            raise KeyError(f"unknown modulus name {modulus!r}{did_you_mean(modulus, MODULI)}")
        return MODULI[modulus].value
    return modulus
