"""Which family a kind belongs to, and that family's cost model, found by convention.

A family package ``hwgen.cores.FAMILY`` (listed in :data:`hwgen.registry.FAMILIES`) may have
a cost model ``hwgen.cost.FAMILY`` exporting ``MODEL``, a
:class:`~hwgen.cost.model.LinearCostModel`. Sweeps and calibration find it here, so they
need no knowledge of any family.
"""
import functools
import importlib

from hwgen import registry

__all__ = ["families", "family_of", "cost_model", "predict"]


@functools.cache
def families():
    """``{family: [kind names]}`` for every registered family."""
    result = {}
    for module_name in registry.FAMILIES:
        module = importlib.import_module(module_name)
        result[module_name.rsplit(".", 1)[-1]] = [kind.name for kind in module.KINDS]
    return result


def family_of(kind_name):
    """The family whose package registers ``kind_name``."""
    for family, kind_names in families().items():
        if kind_name in kind_names:
            return family
    raise KeyError(kind_name)


def cost_model(family):
    """The family's :class:`~hwgen.cost.model.LinearCostModel`, or ``None`` if it has none."""
    try:
        module = importlib.import_module(f"hwgen.cost.{family}")
    except ModuleNotFoundError as error:
        if error.name != f"hwgen.cost.{family}":
            raise
        return None
    return getattr(module, "MODEL", None)


def predict(kind_name, params):
    """The cost model's ``{metric: value}`` for ``kind_name`` with the full parameter mapping
    ``params``; empty when the family has no model or no stored weights."""
    model = cost_model(family_of(kind_name))
    if model is None or not model.weights():
        return {}
    weights = model.weights()
    return {metric: value for metric, value in model.predict(kind_name, params).items()
            if metric in weights}
