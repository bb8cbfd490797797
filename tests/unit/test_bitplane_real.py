# amaranth: UnusedElaboratable=no
"""Real data: a MiniLM query projection quantized to 2, 3 and 4 bits per group of 32 weights,
through the bit-plane core at the matching runtime precision.

``tests/data/ternary_minilm_slice.npz`` (see ``ternary_minilm_slice.md`` there) holds a
16 × 96 slice of layer 0's ``W_q`` and the first 8 tokens' inputs over the same features.
"""
import pathlib

import numpy as np
import pytest

from hwgen.cores.bitplane import BitplaneCore, BitplaneParams
from hwgen.flow.pysim import run_vectors
from hwgen.golden import bitplane as golden
from hwgen.golden import float as fp

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "ternary_minilm_slice.npz"
GROUP = 32
SCALE_BITS = 8


@pytest.fixture(scope="module")
def real():
    with np.load(DATA) as data:
        return {name: data[name].astype(np.float64) for name in data.files}


def quantize(w, bits):
    """Symmetric per-group quantization: ``q = clip(round(w / s), −2**(b−1), 2**(b−1) − 1)``
    with ``s = max|w| / 2**(b−1)`` over each group of 32 input features; returns ``q`` and
    ``s`` (rows, groups)."""
    groups = w.reshape(w.shape[0], -1, GROUP)
    s = np.maximum(np.abs(groups).max(axis=-1), 1e-8) / (1 << (bits - 1))
    q = np.clip(np.round(groups / s[..., None]), -(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    return q.reshape(w.shape).astype(np.int64), s


def transactions(p, activations, codes, scales, prec):
    """One dot product per (token, group of ``lanes`` rows); ``scales`` (rows, groups)."""
    tokens, features = activations.shape
    beats = features // p.reduction
    per_group = GROUP // p.reduction
    cases = []
    for token in range(tokens):
        for first in range(0, codes.shape[0], p.lanes):
            rows = codes[first:first + p.lanes]
            cases.append({
                "a": activations[token].reshape(beats, p.reduction),
                "w": rows.reshape(p.lanes, beats, p.reduction).transpose(1, 0, 2),
                "prec": np.full(beats, prec),
                "scale": np.repeat(scales[first:first + p.lanes].T, per_group, axis=0)})
    return cases


@pytest.mark.parametrize("bits", [2, 3, 4])
def test_int8_projection_at_each_precision_is_bit_exact(real, bits):
    q, s = quantize(real["wq"], bits)
    # Group scales as 8-bit integers relative to the tensor's largest; activations absmax int8.
    s_max = s.max()
    scale_codes = np.round(s / s_max * ((1 << SCALE_BITS) - 1)).astype(np.int64)
    act_scale = 127.0 / np.maximum(real["x_absmax"], 1e-5)
    x = np.clip(np.round(real["x"] * act_scale[:, None]), -128, 127).astype(np.int64)
    p = BitplaneParams(mu=4, n_tables=2, lanes=4, weight_bits=4, group_size=GROUP, max_len=96)
    vectors = golden.to_vectors(p, transactions(p, x, q & 15, scale_codes, bits))
    got = np.array([beat["y"] for beat in vectors["outputs"]["o"]]).reshape(8, 16)
    exact = np.einsum("tgj,rgj,rg->tr", x.reshape(8, -1, GROUP), q.reshape(16, -1, GROUP),
                      scale_codes)
    assert (got == exact).all()
    # The quantized product tracks the float one (a check on the data preparation).
    dequantized = got * (s_max / ((1 << SCALE_BITS) - 1)) / act_scale[:, None]
    reference = real["x"] @ real["wq"].T
    assert np.corrcoef(dequantized.ravel(), reference.ravel())[0, 1] > {2: 0.8, 3: 0.95,
                                                                        4: 0.98}[bits]
    run_vectors(BitplaneCore(p), vectors, valid_prob=0.8, ready_prob=0.7, seed=bits)


@pytest.mark.slow
def test_fp16_projection_at_two_bits(real):
    """One token, four rows (the Amaranth simulator runs float units slowly)."""
    q, s = quantize(real["wq"][:4], 2)
    x16 = real["x"][:1].astype(np.float16).view(np.uint16).astype(np.int64)
    s16 = s.astype(np.float16).view(np.uint16).astype(np.int64)
    p = BitplaneParams(mu=4, n_tables=2, lanes=2, weight_bits=2, act_type="fp16",
                       planes="parallel", group_size=GROUP, max_len=96)
    vectors = golden.to_vectors(p, transactions(p, x16, q & 3, s16, 2))
    got = fp.to_float64(np.array([beat["y"] for beat in vectors["outputs"]["o"]]),
                        fp.FP16).reshape(1, 4)
    expected = np.einsum("tgj,rgj,rg->tr", real["x"][:1].reshape(1, -1, GROUP),
                         q.reshape(4, -1, GROUP), s)
    assert np.allclose(got, expected, rtol=0.02, atol=0.02)
    run_vectors(BitplaneCore(p), vectors, valid_prob=0.8, ready_prob=0.7, seed=1)
