"""A cost model linear in analytic hardware counts, with stored, refittable weights."""
import json
import pathlib

import numpy as np
from scipy.optimize import nnls

from hwgen.flow.files import write_atomic

__all__ = ["LinearCostModel", "relative_errors"]

_HERE = pathlib.Path(__file__).parent


def relative_errors(predicted, measured):
    """``|p − m| / m`` for each pair (pairs whose measurement is 0 are skipped)."""
    return [abs(p - m) / m for p, m in zip(predicted, measured) if m]


class LinearCostModel:
    """``metric ≈ Σ_f weight[metric][f] · features(kind, params)[f]`` with weights ≥ 0.

    Parameters
    ----------
    family : str
        Name of the family; weights live in ``hwgen/cost/FAMILY.json``.
    features : callable
        ``features(kind, params) -> {name: count}`` for a kind name and a parameter mapping
        (defaults filled in, as in the manifest's ``params``).
    metrics : sequence of str
        Names of the predicted figures, ``TARGET.COLUMN`` of the synthesis reports
        (``generic.ge``, ``ice40.lut4``, ``ecp5.lut4``, …).
    """

    def __init__(self, family, features, metrics, *, path=None):
        self.family = family
        self.features = features
        self.metrics = tuple(metrics)
        self.path = pathlib.Path(path) if path else _HERE / f"{family}.json"

    def weights(self):
        """The stored weights; an empty mapping before the first calibration."""
        if not self.path.exists():
            return {}
        return json.loads(self.path.read_text())["weights"]

    def predict(self, kind, params, weights=None):
        """Predicted ``{metric: value}`` for one configuration."""
        weights = self.weights() if weights is None else weights
        counts = self.features(kind, params)
        return {metric: float(sum(weights.get(metric, {}).get(name, 0.0) * count
                                  for name, count in counts.items()))
                for metric in self.metrics}

    def fit(self, samples):
        """Weights fitted to ``samples``: ``(kind, params, {metric: measured})`` triples.

        Each metric is fitted by non-negative least squares on relative error (every sample
        counts equally, whatever its size), so small and large designs are both predicted.
        """
        names = sorted({name for kind, params, _ in samples
                        for name in self.features(kind, params)})
        rows = np.array([[self.features(kind, params).get(name, 0.0) for name in names]
                         for kind, params, _ in samples], dtype=float)
        weights = {}
        for metric in self.metrics:
            measured = np.array([figures.get(metric, np.nan) for _, _, figures in samples],
                                dtype=float)
            usable = np.isfinite(measured) & (measured > 0)
            if not usable.any():
                continue
            scale = 1.0 / measured[usable]
            solution, _ = nnls(rows[usable] * scale[:, None], measured[usable] * scale)
            weights[metric] = {name: float(value) for name, value in zip(names, solution)
                               if value > 0}
        return weights

    def held_out(self, samples, metric, group=None):
        """Held-out predictions of ``metric``: ``[(index, predicted, measured)]`` for every
        sample that has a measurement, each predicted by weights fitted without it — without
        that sample alone (``group=None``, leave one out), or without every sample in the same
        group (``group(kind, params)`` names it, e.g. the design size: the group is then
        extrapolated from the others)."""
        keys = [None if group is None else group(kind, params) for kind, params, _ in samples]
        fits, result = {}, []
        for index, (kind, params, figures) in enumerate(samples):
            if not figures.get(metric):
                continue
            key = index if group is None else keys[index]
            if key not in fits:
                fits[key] = self.fit([sample for other, sample in enumerate(samples)
                                      if (other if group is None else keys[other]) != key])
            result.append((index, self.predict(kind, params, fits[key])[metric],
                           figures[metric]))
        return result

    def save(self, weights, samples_used):
        write_atomic(self.path, json.dumps({"family": self.family, "samples": samples_used,
                                            "weights": weights}, indent=2, sort_keys=True) + "\n")
