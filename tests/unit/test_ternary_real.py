# amaranth: UnusedElaboratable=no
"""Real data: a MiniLM query projection quantized the BitNet b1.58 way, through the cores.

``tests/data/ternary_minilm_slice.npz`` (see ``ternary_minilm_slice.md`` there) holds a
16 × 96 slice of layer 0's ``W_q``, the first 8 tokens' inputs over the same 96 features,
and the two full-tensor statistics BitNet quantizes with: the absmean of all of ``W_q`` and
each token's absmax over all 384 features.
"""
import pathlib

import numpy as np
import pytest

from hwgen.cores.ternary import (AddSubParams, LutParams, MacParams, TernaryAddSubCore,
                                 TernaryLutCore, TernaryMacCore)
from hwgen.flow.pysim import run_vectors
from hwgen.golden import ternary as golden

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "ternary_minilm_slice.npz"
KINDS = [(LutParams, TernaryLutCore), (AddSubParams, TernaryAddSubCore),
         (MacParams, TernaryMacCore)]


def bitnet_ternary(w, absmean):
    """BitNet b1.58 weights: RoundClip(W / mean|W|, −1, 1)."""
    return np.clip(np.round(w / max(absmean, 1e-5)), -1, 1).astype(np.int64)


def absmax_int8(x, absmax):
    """Per-token absmax activations: round(x · 127 / max|x|), clipped to int8."""
    scale = 127.0 / np.maximum(absmax, 1e-5)
    return np.clip(np.round(x * scale[:, None]), -128, 127).astype(np.int64), scale


def transactions(p, activations, weights):
    """One dot product per (token, group of ``lanes`` rows), ``reduction`` features a beat."""
    tokens, features = activations.shape
    beats = features // p.reduction
    cases = []
    for token in range(tokens):
        for first in range(0, weights.shape[0], p.lanes):
            rows = weights[first:first + p.lanes]  # (lanes, features)
            trits = rows.reshape(p.lanes, beats, p.reduction).transpose(1, 0, 2)
            cases.append({"a": activations[token].reshape(beats, p.reduction),
                          "w": golden.encode(trits, p)})
    return cases


@pytest.fixture(scope="module")
def real():
    with np.load(DATA) as data:
        return {name: data[name] for name in data.files}


@pytest.mark.parametrize("params_class,core_class", KINDS,
                         ids=[core.__name__ for _, core in KINDS])
def test_bitnet_quantized_projection_is_bit_exact(real, params_class, core_class):
    weights = bitnet_ternary(real["wq"].astype(np.float64), float(real["wq_absmean"]))
    activations, scale = absmax_int8(real["x"].astype(np.float64), real["x_absmax"])
    assert set(np.unique(weights)) == {-1, 0, 1} and activations.min() >= -128
    p = params_class(mu=3, n_tables=4, lanes=4, weight_format="base3", max_len=96)
    cases = transactions(p, activations, weights)
    vectors = golden.to_vectors(p, cases)
    exact = activations @ weights.T  # (tokens, rows), int64
    got = np.array([beat["y"] for beat in vectors["outputs"]["o"]]).reshape(exact.shape)
    assert (got == exact).all()
    # The quantized product tracks the float one (a check on the data preparation).
    dequantized = exact / scale[:, None] * float(real["wq_absmean"])
    reference = real["x"].astype(np.float64) @ real["wq"].astype(np.float64).T
    assert np.corrcoef(dequantized.ravel(), reference.ravel())[0, 1] > 0.8
    run_vectors(core_class(p), vectors, valid_prob=0.8, ready_prob=0.7, seed=1)


@pytest.mark.slow
def test_fp16_activations_through_the_lut_core(real):
    weights = bitnet_ternary(real["wq"].astype(np.float64), float(real["wq_absmean"]))
    x16 = real["x"][:2].astype(np.float16)
    p = LutParams(mu=3, n_tables=4, lanes=4, act_type="fp16", max_len=96)
    cases = transactions(p, x16.view(np.uint16).astype(np.int64), weights)
    vectors = golden.to_vectors(p, cases)
    got = np.array([beat["y"] for beat in vectors["outputs"]["o"]], dtype=np.uint16)
    reference = x16.astype(np.float64) @ weights.T.astype(np.float64)
    assert np.allclose(got.view(np.float16).reshape(reference.shape), reference,
                       rtol=1e-2, atol=1e-2)
    run_vectors(TernaryLutCore(p), vectors, valid_prob=0.8, ready_prob=0.7, seed=1)
