"""Golden output beats for the dot-product kinds (bit-serial and ternary), so that a replayed
counterexample of their equivalence proofs is checked against the golden model."""
import numpy as np

from hwgen.golden import bitserial, ternary

__all__ = ["packets", "bitserial_expected", "ternary_expected"]


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
