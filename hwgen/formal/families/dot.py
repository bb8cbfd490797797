"""The dot-product kinds (bit-serial and ternary): golden output beats, so that a replayed
counterexample of their equivalence proofs is checked against the golden model, and the
bit-serial engine's own equivalence proof.

``bitserial_dot`` and ``bitparallel_dot`` are the same group-scale accumulator behind
different engines. :func:`engine_harness` compares the engines alone, on the beat sums
they hand the accumulator, which ABC's PDR proves for every input sequence where the whole
designs only reach a bounded depth (the accumulators' running sums, at different times in
the two designs, are what it cannot relate).
"""
import numpy as np
from amaranth import Cat, Mux

from hwgen.cores.bitserial.dot import BitParallelEngine, BitSerialEngine
from hwgen.formal.harness import LockstepHarness
from hwgen.golden import bitserial, ternary

__all__ = ["packets", "bitserial_expected", "ternary_expected", "engine_harness"]


def _beat_sum(payload):
    # A beat with err set (a precision out of range) makes its dot product 0 with err,
    # whatever its sum, so the sum of such a beat is not compared.
    return Cat(Mux(payload.err, 0, payload.sum), payload.scale, payload.group_end,
               payload.last, payload.err)


def engine_harness(params, reference_params):
    """The bit-serial engine of ``params`` in lockstep with the bit-parallel engine of
    ``reference_params``: the same beat sums (:class:`~hwgen.formal.harness.LockstepHarness`)."""
    return LockstepHarness(BitSerialEngine(params), BitParallelEngine(reference_params),
                           compare=_beat_sum)


def packets(beats):
    """The complete packets (lists of beats ended by ``last``) among ``beats``."""
    done, current = [], []
    for beat in beats:
        current.append(beat)
        if beat.get("last", 1):
            done.append(current)
            current = []
    return done


def bitserial_expected(params, beats):
    results = []
    for packet in packets(beats):
        transaction = {
            "a": np.array([beat["a"] for beat in packet], dtype=np.int64),
            "w": np.array([beat["w"] for beat in packet], dtype=np.int64),
            "prec": np.array([beat.get("prec", params.weight_bits) for beat in packet],
                             dtype=np.int64),
            "scale": np.array([beat["scale"] for beat in packet], dtype=np.int64),
            "dtype": np.array([beat.get("dtype", 0) for beat in packet], dtype=np.int64),
        }
        y, err = bitserial.dot_product(params, transaction)
        results.append({"y": int(y), "err": int(err)})
    return results


def ternary_expected(params, beats):
    results = []
    for packet in packets(beats):
        transaction = {
            "a": np.array([beat["a"] for beat in packet], dtype=np.int64),
            "w": np.array([beat["w"] for beat in packet], dtype=np.int64),
        }
        y, err = ternary.dot_products(params, transaction)
        results.append({"y": y, "err": err})
    return results
