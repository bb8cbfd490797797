"""Golden model of the NTT tile: the negacyclic number-theoretic transform over Z_q.

For a prime ``q`` and ``m = 2^layers`` with ``2m | q − 1`` let ψ be the primitive ``2m``-th
root of unity found by :func:`psi` (ψ^m = −1). A polynomial ``a`` of degree below ``n``
(``m | n``, ``s = n/m``) is mapped to its residues modulo the ``m`` factors
``x^s − ψ^(2k+1)`` of ``x^n + 1``:

* forward: block ``k`` of the result (coefficients ``k·s … k·s + s − 1``) is
  ``a mod (x^s − ψ^(2k+1))``, i.e. ``Σ_t a_(j+s·t) · ψ^((2k+1)·t)`` for ``j < s``. With
  ``layers = log2 n`` (the default, a complete NTT) every block is one value, ``a`` evaluated
  at ψ^(2k+1); with fewer layers it is an incomplete NTT such as Kyber's (``n = 256``,
  ``q = 3329``, 7 layers, 128 residues of degree 1). Either way
  ``a·b mod (x^n + 1, q)`` is ``inverse`` of the blockwise products modulo the factors;
* inverse: the polynomial with those residues (Chinese remaindering), which undoes it.

:func:`forward` and :func:`inverse` compute them the way the hardware does — in place,
``layers`` Cooley-Tukey stages with twiddles ψ^brv(k) for the forward transform, as many
Gentleman-Sande stages with ψ^−brv(k) for the inverse, each of which halves its outputs
(``(u + v)/2`` and ``(u − v)·ψ^−brv(k)/2``), so that the inverse's ``m⁻¹`` needs no
multiplication of its own — on NumPy arrays of Python ints (moduli of any width). The tests
check them against the sums above.

The tile's streams carry one coefficient per beat: input ``{coeff, inverse, last}``, output
``{coeff, last, err}``. A *transform* is the input beats up to and including one with
``last``; its direction is the ``inverse`` bit of its first beat. :func:`expected_outputs`
maps input beats to output beats: ``n`` beats of the result for a well-formed transform,
else one error beat (:data:`ERROR_BEAT`).

No hardware imports: the tile, the tests and the host driver use this module.
"""
import functools
import random

import numpy as np
import sympy

__all__ = ["ERROR_BEAT", "psi", "bit_reverse", "bit_reversal", "block_reversal", "twiddles",
           "forward", "inverse", "max_size", "transform_problem", "command_beats",
           "expected_outputs", "directed_transforms", "random_transform_count", "vectors"]

ERROR_BEAT = {"coeff": 0, "last": 1, "err": 1}


def max_size(q):
    """The largest power of two ``m`` with ``2m | q − 1`` (the most blocks a transform over
    ``q`` can have)."""
    return ((q - 1) & -(q - 1)) >> 1


def transform_problem(q, m):
    """Why there is no negacyclic transform into ``m`` blocks over ``q`` (``m = n`` for a
    complete NTT of size ``n``), or ``None`` when there is one."""
    if not sympy.isprime(q):
        return "not prime"
    if (q - 1) % (2 * m):
        return f"2·{m} = {2 * m} does not divide q − 1"
    return None


@functools.lru_cache(maxsize=64)
def psi(q, m):
    """The primitive ``2m``-th root of unity ``x^((q−1)/2m)`` for the smallest ``x ≥ 2``
    that gives one (ψ^m ≡ −1). ``q`` must pass :func:`transform_problem`."""
    problem = transform_problem(q, m)
    if problem:
        raise ValueError(f"no negacyclic transform into {m} blocks over {q}: {problem}")
    for x in range(2, q):
        root = pow(x, (q - 1) // (2 * m), q)
        if pow(root, m, q) == q - 1:
            return root
    raise AssertionError("a prime field has a generator")  # pragma: no cover


def bit_reverse(k, bits):
    return int(format(k, f"0{bits}b")[::-1], 2) if bits else 0


@functools.lru_cache(maxsize=64)
def bit_reversal(n):
    """The permutation ``k → brv(k)`` of ``range(n)`` as an index array."""
    bits = n.bit_length() - 1
    return np.array([bit_reverse(k, bits) for k in range(n)])


@functools.lru_cache(maxsize=64)
def block_reversal(n, m):
    """The permutation of ``range(n)`` that bit-reverses the block number of ``m`` blocks
    of ``n/m`` and keeps the place within the block (``bit_reversal(n)`` when ``m = n``)."""
    span = n // m
    return np.array([int(bit_reversal(m)[index // span]) * span + index % span
                     for index in range(n)])


@functools.lru_cache(maxsize=64)
def twiddles(q, m):
    """``(forward, inverse)``: ``forward[k] = ψ^brv(k)``, ``inverse[k] = ψ^−brv(k) / 2`` for
    ``k < m``, where brv reverses ``log2 m`` bits. Stage ``s`` of either transform uses the
    entries ``g … 2g − 1`` for its ``g`` butterfly groups (entry 0 is unused)."""
    root = psi(q, m)
    root_inverse = pow(root, -1, q)
    half = pow(2, -1, q)
    order = bit_reversal(m)
    return (tuple(pow(root, int(e), q) for e in order),
            tuple(pow(root_inverse, int(e), q) * half % q for e in order))


def _column(values):
    return np.array(values, dtype=object)[:, None]


def _cooley_tukey(a, q, table, m):
    """In place, natural order in, blocks in bit-reversed order out."""
    n = len(a)
    span, groups = n // 2, 1
    while groups < m:
        blocks = a.reshape(groups, 2, span)
        u, v = blocks[:, 0, :], blocks[:, 1, :] * _column(table[groups:2 * groups]) % q
        a = np.stack([(u + v) % q, (u - v) % q], axis=1).reshape(n)
        span, groups = span // 2, groups * 2
    return a


def _gentleman_sande(a, q, table, m):
    """In place, blocks in bit-reversed order in, natural order out; each stage halves (the
    table's twiddles carry the ``1/2`` of the differences)."""
    n = len(a)
    half = pow(2, -1, q)
    span, groups = n // m, m // 2
    while groups:
        blocks = a.reshape(groups, 2, span)
        u, v = blocks[:, 0, :], blocks[:, 1, :]
        a = np.stack([(u + v) * half % q, (u - v) * _column(table[groups:2 * groups]) % q],
                     axis=1).reshape(n)
        span, groups = span * 2, groups // 2
    return a


def _coefficients(values, q):
    a = np.array([int(value) for value in values], dtype=object)
    if any(not 0 <= value < q for value in a):
        raise ValueError(f"coefficients must lie in [0, {q}), not {list(values)!r}")
    return a


def forward(values, q, layers=None):
    """The forward transform of ``values`` with ``layers`` stages (default: all ``log2 n``),
    natural order in and out, as a list of ints."""
    a = _coefficients(values, q)
    n = len(a)
    m = n if layers is None else 1 << layers
    result = _cooley_tukey(a, q, twiddles(q, m)[0], m)[block_reversal(n, m)]
    return [int(x) for x in result]


def inverse(values, q, layers=None):
    """The inverse transform (natural order in and out): ``forward``'s inverse."""
    a = _coefficients(values, q)
    n = len(a)
    m = n if layers is None else 1 << layers
    shuffled = np.empty(n, dtype=object)
    shuffled[block_reversal(n, m)] = a
    return [int(x) for x in _gentleman_sande(shuffled, q, twiddles(q, m)[1], m)]


def _transform_result(frame, q, n, layers):
    coefficients = [beat["coeff"] for beat in frame]
    if len(frame) != n or any(value >= q for value in coefficients):
        return [dict(ERROR_BEAT)]
    transform = inverse if frame[0].get("inverse") else forward
    return [{"coeff": value, "last": int(index == n - 1), "err": 0}
            for index, value in enumerate(transform(coefficients, q, layers))]


def expected_outputs(beats, q, n, layers=None):
    """Output beats for input ``beats``: per transform, ``n`` result beats or one error beat
    (fewer or more than ``n`` beats, or a coefficient ``≥ q``). Beats after the last ``last``
    form no transform yet and give nothing."""
    outputs, frame = [], []
    for beat in beats:
        frame.append(beat)
        if beat.get("last"):
            outputs += _transform_result(frame, q, n, layers)
            frame = []
    return outputs


def command_beats(coefficients, inverse=0):
    """The input beats of one transform of ``coefficients`` (``inverse``: 0 forward, 1
    inverse; any length, so malformed transforms can be built too)."""
    return [{"coeff": int(value), "inverse": int(inverse),
             "last": int(index == len(coefficients) - 1)}
            for index, value in enumerate(coefficients)]


def directed_transforms(q, n, coeff_bits, rng, layers=None):
    """Edge cases, each a list of input beats: zeros, impulses, all q − 1, the inverse of a
    forward result, every malformed shape (one beat, n − 1, n + 1 and n + 3 beats, a
    coefficient equal to q, the largest coefficient the field holds), and an ``inverse`` bit
    on a beat other than the first (ignored)."""
    impulse = [1] + [0] * (n - 1)
    shifted = [0, 1] + [0] * (n - 2)
    random_poly = [rng.randrange(q) for _ in range(n)]
    late_inverse = command_beats(random_poly)
    late_inverse[1]["inverse"] = 1
    with_q, with_top = list(random_poly), list(random_poly)
    with_q[n // 2] = q
    with_top[-1] = (1 << coeff_bits) - 1
    forwards = [[0] * n, impulse, shifted, [q - 1] * n, random_poly[:-1], random_poly + [7],
                with_q, [5]]
    inverses = [[1] * n, forward(random_poly, q, layers), [q - 1] * n, random_poly + [1, 2, 3],
                with_top,
                random_poly]
    return ([command_beats(values) for values in forwards] +
            [command_beats(values, 1) for values in inverses] + [late_inverse])


def _random_transform(q, n, rng):
    inverse_bit = rng.randrange(2)
    shape = rng.random()
    if shape < 0.1:
        length = rng.choice([value for value in range(1, n + 4) if value != n])
        return command_beats([rng.randrange(q) for _ in range(length)], inverse_bit)
    if shape < 0.2:
        extremes = [0, 1, q - 1, (q - 1) // 2]
        return command_beats([rng.choice(extremes) for _ in range(n)], inverse_bit)
    return command_beats([rng.randrange(q) for _ in range(n)], inverse_bit)


# Random transforms are counted in units of this many coefficients, so that the vectors of a
# large transform cost about as many simulated cycles as those of a small one.
COUNT_UNIT = 16


def random_transform_count(n, count):
    """How many random transforms :func:`vectors` adds: ``count`` for ``n ≤ 16``, else
    ``⌈count · 16 / n⌉`` (about ``16 · count`` random coefficients either way)."""
    return -(-count * COUNT_UNIT // max(n, COUNT_UNIT))


def vectors(p, count, seed):
    """``ntt_tile`` stream vectors: the directed transforms, then
    :func:`random_transform_count` random ones (one in ten malformed, one in ten of extreme
    coefficients). ``p`` has ``q``, ``n``, ``layers`` and ``coeff_bits``."""
    rng = random.Random(seed)
    transforms = directed_transforms(p.q, p.n, p.coeff_bits, rng, p.layers)
    transforms += [_random_transform(p.q, p.n, rng)
                   for _ in range(random_transform_count(p.n, count))]
    beats = [beat for transform in transforms for beat in transform]
    return {"inputs": {"i": beats},
            "outputs": {"o": expected_outputs(beats, p.q, p.n, p.layers)}}
