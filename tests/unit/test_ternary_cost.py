# amaranth: UnusedElaboratable=no
"""The ternary cost model's counts against the elaborated cores, and its stored weights.

How well the fitted model predicts Yosys is measured by ``bench/ternary_cost.py``, not here.
"""
import collections

import pytest
from amaranth.hdl import Fragment

from hwgen import registry
from hwgen.cost import ternary as cost

CONFIGS = [
    ("ternary_lut", dict(mu=3, n_tables=2, lanes=3, act_type="fp16")),
    ("ternary_lut", dict(mu=5, n_tables=1, lanes=2, act_type="bf16", weight_format="base3")),
    ("ternary_addsub", dict(mu=2, n_tables=3, lanes=2, act_type="fp16")),
    ("ternary_mac", dict(mu=1, n_tables=5, lanes=3, act_type="fp16", weight_format="code2")),
    ("ternary_lut", dict(mu=4, n_tables=2, lanes=2)),
    ("ternary_mac", dict(mu=2, n_tables=2, lanes=2, act_type="bf16", weight_format="bf16")),
]


def instances(component):
    """How many elaboratables of each class the design instantiates."""
    def walk(fragment):
        yield fragment
        for sub, *_ in fragment.subfragments:
            yield from walk(sub)
    return collections.Counter(type(origin).__name__ for fragment in walk(
        Fragment.get(component, None)) for origin in fragment.origins or [])


@pytest.mark.parametrize("kind,params", CONFIGS, ids=lambda value: str(value))
def test_unit_counts_match_the_elaborated_design(kind, params):
    design = registry.lookup(kind)
    component = design.build(design.params.from_mapping(params))
    counts = instances(component)
    features = cost.features(kind, params)
    assert features["fp_adders"] == counts["FloatAdder"]
    assert features["fp_multipliers"] + features["fp_full_multipliers"] == \
        counts["FloatMultiplier"]
    assert cost.throughput(kind, params) == component.performance["macs_per_cycle"]


def test_stored_weights_predict_every_metric():
    weights = cost.MODEL.weights()
    assert set(weights) == set(cost.METRICS)
    prediction = cost.predict("ternary_lut", {"mu": 3, "n_tables": 4, "lanes": 4})
    assert all(prediction[metric] > 0 for metric in cost.METRICS)
    assert prediction["macs_per_cycle"] == 48
