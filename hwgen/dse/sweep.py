"""Sweep files: YAML → a validated :class:`Sweep`, and its expansion into design points.

A sweep file::

    name: ternary_study              # names the output directory (build/dse/NAME)
    base: ../ternary_lut_asic.yaml   # a config path (relative to this file) or an inline config
    axes:                            # one product of axes, or a list of products (their union)
      mu: [1, 2, 3]                  # a list of values
      lanes: {from: 2, to: 16, times: 2}     # a range: `step` (arithmetic) or `times` (geometric)
      pipeline.fetch: [false, true]  # a nested parameter
      activation:                    # a named axis whose values set several parameters
        - {act_type: int, act_bits: 8}
        - {act_type: fp16}
      kind: [ternary_lut, ternary_mac]        # the kind itself may be an axis
    constraints:                     # expressions over parameter names; a point must pass all
      - mu * n_tables * lanes <= 128
    targets: [generic, {target: ice40, pnr: true, device: up5k}]
    objectives:                      # expressions over report figures and parameters
      - {minimize: generic.ge, name: GE}
      - {maximize: macs_per_cycle / generic.ge * 1000, name: MACs/cycle per kGE}
    plot: {area: generic.ge, throughput: macs_per_cycle, color: activation}
                                     # default: first min / first max objective, by kind
    timeout: 600                     # seconds per point (default: none)
    model_only: false                # true: rank by the cost model, no synthesis

Every rejection is a :class:`~hwgen.config.ConfigError` naming the YAML path, like a design
config's. A point whose parameters a kind rejects is not an error of the sweep: it is kept
as an invalid point with the validation message.
"""
import copy
import dataclasses
import itertools
import pathlib
import re

from hwgen import config
from hwgen.config import ConfigError
from hwgen.dse.expr import Expression, ExpressionError
from hwgen.flow import pnr, synth
from hwgen.params import did_you_mean

__all__ = ["Target", "Objective", "Point", "Sweep", "load", "from_mapping", "flatten"]

_KEYS = ("name", "base", "axes", "constraints", "targets", "objectives", "plot", "timeout",
         "model_only", "output")
_RANGE_KEYS = ("from", "to", "step", "times")
_MAX_POINTS = 1_000_000
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


@dataclasses.dataclass(frozen=True)
class Target:
    """A synthesis target, optionally placed and routed on ``device``."""
    name: str
    pnr: bool = False
    device: str = None
    seeds: int = 1
    freq_mhz: float = 100.0

    def describe(self):
        if not self.pnr:
            return self.name
        return f"{self.name} + nextpnr ({self.device}, {self.seeds} seed(s), {self.freq_mhz} MHz)"


@dataclasses.dataclass(frozen=True)
class Objective:
    name: str
    sense: str          # "minimize" or "maximize"
    expression: Expression


@dataclasses.dataclass(frozen=True)
class Point:
    """One configuration of the sweep.

    ``axes`` maps each axis label to its value at this point; ``config`` is the design
    config mapping (``name``, ``kind``, ``params`` as written, without defaults); ``design``
    is the validated :class:`~hwgen.config.Design`, or ``None`` with ``error`` saying why.
    """
    index: int
    axes: dict
    config: dict
    design: object = None
    error: str = None


@dataclasses.dataclass(frozen=True)
class Sweep:
    name: str
    source: pathlib.Path
    base: dict
    axes: tuple           # of products, each a tuple of (label, [values])
    constraints: tuple    # of Expression
    targets: tuple        # of Target
    objectives: tuple     # of Objective
    plot: dict            # {"area": expression text, "throughput": expression text}
    timeout: float
    model_only: bool
    output: pathlib.Path

    def as_model_only(self):
        """The same sweep ranked by the cost model alone, written to ``OUTPUT_model``."""
        return dataclasses.replace(self, model_only=True,
                                   output=self.output.with_name(f"{self.output.name}_model"))

    @property
    def axis_labels(self):
        labels = []
        for product in self.axes:
            labels += [label for label, _ in product if label not in labels]
        return labels

    def points(self):
        """``(points, excluded)``: every point of the axes that passes the constraints, in
        order, and the number the constraints removed."""
        points, excluded = [], 0
        for product in self.axes:
            labels = [label for label, _ in product]
            for values in itertools.product(*(values for _, values in product)):
                mapping = copy.deepcopy(self.base)
                for label, value in zip(labels, values):
                    _assign(mapping, label, value)
                point = _validate(len(points), dict(zip(labels, values)), mapping)
                if not self._passes(point):
                    excluded += 1
                    continue
                points.append(point)
        return points, excluded

    def _passes(self, point):
        if point.design is not None:
            names = {"kind": point.design.kind.name, **flatten(point.design.params.to_dict())}
        else:
            names = {"kind": point.config.get("kind"), **flatten(point.config.get("params",
                                                                                  {}))}
        for index, constraint in enumerate(self.constraints):
            try:
                if not constraint.evaluate(names):
                    return False
            except ExpressionError as error:
                if point.design is None:
                    return True  # reported as invalid, with the parameter's own message
                raise ConfigError(f"constraints[{index}]: {constraint.text!r}: {error}",
                                  source=self.source) from None
        return True


def flatten(mapping, prefix=""):
    """A nested mapping as ``{"a.b": value}``."""
    flat = {}
    for key, value in mapping.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _assign(mapping, label, value):
    """Set an axis value in a config mapping: ``kind``, a dotted parameter, or several."""
    if isinstance(value, dict):
        for key, item in value.items():
            _assign(mapping, key, item)
        return
    if label in ("kind", "name"):
        mapping[label] = value
        return
    target = mapping.setdefault("params", {})
    *parents, leaf = label.split(".")
    for parent in parents:
        target = target.setdefault(parent, {})
    target[leaf] = value


def _validate(index, axes, mapping):
    try:
        return Point(index, axes, mapping, design=config.from_mapping(mapping))
    except ConfigError as error:
        return Point(index, axes, mapping, error=str(error))


def load(path):
    """Read and validate the sweep file at ``path``."""
    path = pathlib.Path(path)
    return from_mapping(config.read_yaml(path, "sweep file"), source=path)


def from_mapping(mapping, source=None):
    """Validate an already-parsed sweep mapping (``source`` is the file it came from)."""
    source = pathlib.Path(source) if source else None

    def fail(message):
        raise ConfigError(message, source=source)

    if not isinstance(mapping, dict):
        fail(f"a sweep must be a mapping with keys {', '.join(_KEYS)}, "
             f"not {type(mapping).__name__}")
    for key in mapping:
        if key not in _KEYS:
            fail(f"{key}: unknown key{did_you_mean(str(key), _KEYS)} "
                 f"(a sweep has {', '.join(_KEYS)})")
    for key in ("name", "base", "axes"):
        if key not in mapping:
            fail(f"{key}: missing (a sweep needs name, base and axes)")
    name = mapping["name"]
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        fail(f"name: must be an identifier of letters, digits and underscores, not {name!r}")

    base = _base(mapping["base"], source, fail)
    axes = _axes(mapping["axes"], fail)
    constraints = tuple(_expression(text, f"constraints[{index}]", fail)
                        for index, text in enumerate(_list(mapping.get("constraints", []),
                                                           "constraints", fail)))
    targets = tuple(_target(entry, f"targets[{index}]", fail) for index, entry in
                    enumerate(_list(mapping.get("targets", ["generic"]), "targets", fail)))
    if not targets:
        fail("targets: must name at least one target")
    if len({target.name for target in targets}) != len(targets):
        fail("targets: each target may appear once")
    objectives = tuple(_objective(entry, f"objectives[{index}]", fail) for index, entry in
                       enumerate(_list(mapping.get("objectives", []), "objectives", fail)))
    if not objectives:
        fail("objectives: must list at least one objective, e.g. {minimize: generic.ge}")
    plot = _plot(mapping.get("plot", {}), objectives, axes, fail)

    timeout = mapping.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                or timeout <= 0):
        fail(f"timeout: must be a positive number of seconds per point, not {timeout!r}")
    model_only = mapping.get("model_only", False)
    if not isinstance(model_only, bool):
        fail(f"model_only: must be true or false, not {model_only!r}")
    output = mapping.get("output", f"build/dse/{name}")
    if not isinstance(output, str):
        fail(f"output: must be a directory path, not {output!r}")
    return Sweep(name=name, source=source, base=base, axes=axes, constraints=constraints,
                 targets=targets, objectives=objectives, plot=plot, timeout=timeout,
                 model_only=model_only, output=pathlib.Path(output))


def _list(value, path, fail):
    if not isinstance(value, list):
        fail(f"{path}: must be a list, not {value!r}")
    return value


def _base(value, source, fail):
    if isinstance(value, str):
        path = pathlib.Path(value)
        if not path.is_absolute() and source is not None:
            path = source.parent / path
        try:
            value = config.read_yaml(path)
        except ConfigError as error:
            fail(f"base: {error}")
    if not isinstance(value, dict):
        fail(f"base: must be a config mapping (name, kind, params) or the path of a config "
             f"file, not {value!r}")
    try:
        config.from_mapping(value)
    except ConfigError as error:
        fail(f"base: {error}")
    return value


def _axes(value, fail):
    products = value if isinstance(value, list) else [value]
    if not products:
        fail("axes: must not be empty")
    result = []
    for number, product in enumerate(products):
        where = f"axes[{number}]" if isinstance(value, list) else "axes"
        if not isinstance(product, dict) or not product:
            fail(f"{where}: must be a mapping of axis names to values, not {product!r}")
        axes = []
        for label, values in product.items():
            if not isinstance(label, str):
                fail(f"{where}: axis names must be strings, not {label!r}")
            axes.append((label, _values(values, f"{where}.{label}", fail)))
        size = 1
        for _, values in axes:
            size *= len(values)
        if size > _MAX_POINTS:
            fail(f"{where}: spans {size:,} points, more than {_MAX_POINTS:,}")
        result.append(tuple(axes))
    return tuple(result)


def _values(values, path, fail):
    if isinstance(values, dict):
        return _range(values, path, fail)
    if not isinstance(values, list):
        values = [values]
    if not values:
        fail(f"{path}: must list at least one value")
    for index, item in enumerate(values):
        if isinstance(item, dict) and not item:
            fail(f"{path}[{index}]: must set at least one parameter")
        if isinstance(item, list):
            fail(f"{path}[{index}]: must be a value or a mapping of parameters, not a list")
    return values


def _range(spec, path, fail):
    for key in spec:
        if key not in _RANGE_KEYS:
            fail(f"{path}.{key}: unknown key{did_you_mean(str(key), _RANGE_KEYS)} "
                 f"(a range has from, to and step or times)")
    for key in ("from", "to"):
        if key not in spec:
            fail(f"{path}: a range needs `from` and `to`")
        if not isinstance(spec[key], int) or isinstance(spec[key], bool):
            fail(f"{path}.{key}: must be an integer, not {spec[key]!r}")
    if "step" in spec and "times" in spec:
        fail(f"{path}: a range takes `step` or `times`, not both")
    start, stop = spec["from"], spec["to"]
    if "times" in spec:
        times = spec["times"]
        if not isinstance(times, int) or isinstance(times, bool) or times < 2 or start < 1:
            fail(f"{path}.times: must be an integer of at least 2 (with from ≥ 1), "
                 f"not {times!r}")
        values, value = [], start
        while value <= stop:
            values.append(value)
            value *= times
    else:
        step = spec.get("step", 1)
        if not isinstance(step, int) or isinstance(step, bool) or step < 1:
            fail(f"{path}.step: must be a positive integer, not {step!r}")
        values = list(range(start, stop + 1, step))
    if not values:
        fail(f"{path}: the range from {start} to {stop} is empty")
    return values


def _expression(text, path, fail):
    try:
        return Expression(text)
    except ExpressionError as error:
        fail(f"{path}: {text!r}: {error}" if isinstance(text, str) else f"{path}: {error}")


def _target(entry, path, fail):
    if isinstance(entry, str):
        entry = {"target": entry}
    if not isinstance(entry, dict):
        fail(f"{path}: must be a target name or a mapping with `target`, not {entry!r}")
    allowed = ("target", "pnr", "device", "seeds", "freq_mhz")
    for key in entry:
        if key not in allowed:
            fail(f"{path}.{key}: unknown key{did_you_mean(str(key), allowed)}")
    name = entry.get("target")
    if name not in synth.TARGETS:
        fail(f"{path}.target: must be one of {', '.join(map(repr, synth.TARGETS))}, "
             f"not {name!r}{did_you_mean(str(name), synth.TARGETS)}")
    place = entry.get("pnr", False)
    if not isinstance(place, bool):
        fail(f"{path}.pnr: must be true or false, not {place!r}")
    if place and name not in pnr.DEVICES:
        fail(f"{path}.pnr: place and route needs target {' or '.join(pnr.DEVICES)}, "
             f"not {name!r}")
    if not place:
        extra = [key for key in ("device", "seeds", "freq_mhz") if key in entry]
        if extra:
            fail(f"{path}.{extra[0]}: only used with pnr: true")
        return Target(name)
    device = entry.get("device", pnr.DEFAULT_DEVICE[name])
    if device not in pnr.DEVICES[name]:
        fail(f"{path}.device: must be one of {', '.join(map(repr, pnr.DEVICES[name]))}, "
             f"not {device!r}")
    seeds = entry.get("seeds", 1)
    if not isinstance(seeds, int) or isinstance(seeds, bool) or not 1 <= seeds <= 16:
        fail(f"{path}.seeds: must be an integer between 1 and 16, not {seeds!r}")
    freq = entry.get("freq_mhz", 100.0)
    if isinstance(freq, bool) or not isinstance(freq, (int, float)) or freq <= 0:
        fail(f"{path}.freq_mhz: must be a positive number, not {freq!r}")
    return Target(name, True, device, seeds, float(freq))


def _objective(entry, path, fail):
    if not isinstance(entry, dict):
        fail(f"{path}: must be a mapping like {{minimize: generic.ge}}, not {entry!r}")
    senses = [key for key in entry if key in ("minimize", "maximize")]
    for key in entry:
        if key not in ("minimize", "maximize", "name"):
            fail(f"{path}.{key}: unknown key{did_you_mean(str(key), ('minimize', 'maximize'))}"
                 f" (an objective has minimize or maximize, and optionally name)")
    if len(senses) != 1:
        fail(f"{path}: must have exactly one of minimize or maximize")
    sense = senses[0]
    expression = _expression(entry[sense], f"{path}.{sense}", fail)
    name = entry.get("name", expression.text)
    if not isinstance(name, str):
        fail(f"{path}.name: must be a string, not {name!r}")
    return Objective(name, sense, expression)


def _plot(value, objectives, axes, fail):
    if not isinstance(value, dict):
        fail(f"plot: must be a mapping with area and throughput, not {value!r}")
    for key in value:
        if key not in ("area", "throughput", "color"):
            fail(f"plot.{key}: unknown key"
                 f"{did_you_mean(str(key), ('area', 'throughput', 'color'))}")
    defaults = {"area": next((o.expression.text for o in objectives if o.sense == "minimize"),
                             None),
                "throughput": next((o.expression.text for o in objectives
                                    if o.sense == "maximize"), None)}
    result = {}
    for key in ("area", "throughput"):
        text = value.get(key, defaults[key])
        if text is not None:
            result[key] = _expression(text, f"plot.{key}", fail).text
    if "color" in value:
        labels = {label for product in axes for label, _ in product}
        if value["color"] not in labels:
            fail(f"plot.color: must be one of the axes ({', '.join(sorted(labels))}), not "
                 f"{value['color']!r}")
        result["color"] = value["color"]
    return result
