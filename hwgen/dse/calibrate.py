"""Refitting a family's cost model from a sweep's measured results (``hwgen calibrate``)."""
import json
import statistics

from hwgen.config import ConfigError
from hwgen.cost.model import relative_errors
from hwgen.dse import models

__all__ = ["samples", "errors", "calibrate"]


def samples(family, document):
    """``(kind, params, {metric: measured})`` of every successful point of ``family`` in a
    sweep's ``results.json`` document."""
    kinds = models.families()[family]
    return [(row["kind"], row["params"], row["figures"]) for row in document["points"]
            if row["status"] == "ok" and row["kind"] in kinds]


def errors(model, rows, weights):
    """``{metric: (mean, max, points)}`` relative error of ``weights`` on ``rows``."""
    result = {}
    for metric in model.metrics:
        if metric not in weights:
            continue
        pairs = [(model.predict(kind, params, weights)[metric], figures[metric])
                 for kind, params, figures in rows
                 if isinstance(figures.get(metric), (int, float)) and figures[metric] > 0]
        measured = relative_errors(*zip(*pairs)) if pairs else []
        if measured:
            result[metric] = (statistics.fmean(measured), max(measured), len(measured))
    return result


def calibrate(family, results_path, *, save=True):
    """Refit ``family``'s weights to the measured points in ``results_path``.

    Metrics the sweep did not measure keep their stored weights. Returns ``(model, before,
    after)`` with :func:`errors` of the stored and of the refitted weights (``before`` is
    empty when nothing was stored). With ``save``, the new weights replace the stored ones.
    """
    if family not in models.families():
        raise ConfigError(f"family must be one of {', '.join(models.families())}, "
                          f"not {family!r}")
    model = models.cost_model(family)
    if model is None:
        raise ConfigError(f"family {family!r} has no cost model (hwgen/cost/{family}.py)")
    try:
        document = json.loads(results_path.read_text())
    except OSError:
        raise ConfigError(f"no results at {results_path}: run `hwgen dse` on the sweep "
                          f"first") from None
    if document.get("model_only"):
        raise ConfigError(f"{results_path} holds model-only results; calibration needs a "
                          f"sweep that synthesizes")
    rows = samples(family, document)
    measured = [metric for metric in model.metrics
                if any(isinstance(figures.get(metric), (int, float)) for _, _, figures in rows)]
    if not measured:
        raise ConfigError(f"{results_path} has no measured {' or '.join(model.metrics)} for "
                          f"family {family!r} (its kinds: {', '.join(models.families()[family])})")
    stored = model.weights()
    fitted = model.fit([(kind, params, {metric: figures.get(metric) for metric in measured})
                        for kind, params, figures in rows])
    weights = {**stored, **fitted}
    if save:
        model.save(weights, [f"{document['sweep']}: {len(rows)} points"])
    return model, errors(model, rows, stored), errors(model, rows, weights)
