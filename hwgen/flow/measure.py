"""Area measurements for benches, cost-model calibration and sweeps, with a result cache.

``measure(kind, params)`` emits a design from a kind name and a parameter mapping,
synthesizes it for the requested targets and returns the area figures of each. Results are
cached under ``CACHE`` (``$HWGEN_CACHE``, default ``build/.cache``) by a hash of (emitted
Verilog, Yosys version, synthesis script, target, hierarchical or flat), so a rerun of a bench
or a sweep only synthesizes what changed:

* ``CACHE/synth/KEY.json``: a whole design's synthesis report;
* ``CACHE/units/KEY.json``: the figures of one repeated unit (hierarchical synthesis), keyed
  by the unit's canonical text, so a unit is synthesized once for every design holding it.
"""
import hashlib
import json
import os
import pathlib

from hwgen.config import from_mapping
from hwgen.flow import hierarchy as _hierarchy, synth, tools, verilog
from hwgen.flow.files import write_atomic

__all__ = ["measure", "composed", "synthesize", "cache_key", "cached", "Store", "DEFAULT_CACHE"]

DEFAULT_CACHE = pathlib.Path(os.environ.get("HWGEN_CACHE", "build/.cache"))


def cache_key(verilog_text, target, top, *extra, hierarchy=False):
    """Hash of everything a synthesis result depends on; ``extra`` strings add what a later
    step (place and route: its tool version and options) depends on as well."""
    digest = hashlib.sha256()
    files = synth.script_files(target)
    commands = synth.script(target, top)
    if hierarchy:
        commands += [f"# units ({_hierarchy.RULES})", *synth.script(target, "{top}",
                                                                    hierarchy=True)]
    for part in (verilog_text, tools.versions()["yosys"], "\n".join(commands),
                 *(f"{name}\n{text}" for name, text in sorted(files.items())), target, *extra):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def measure(kind, params, *, targets=synth.TARGETS, name=None, work_dir="build/measure",
            cache_dir=DEFAULT_CACHE, timeout=synth.DEFAULT_TIMEOUT, hierarchy=True):
    """Area figures ``{target: area}`` of ``kind`` built with the ``params`` mapping.

    ``hierarchy=False`` synthesizes flat (the reference) instead of once per repeated unit.
    An area synthesized with a workaround for a Yosys crash (see :mod:`hwgen.flow.synth`)
    carries the note under ``"workaround"``. Raises :class:`~hwgen.config.ConfigError` for
    parameters the kind rejects.
    """
    name = name or kind
    design = from_mapping({"name": name, "kind": kind, "params": dict(params)})
    emitted = verilog.emit(design, pathlib.Path(work_dir) / design.digest)
    results = {}
    for target in targets:
        report = synthesize(design, emitted, target, reports_dir=emitted.dir / "reports",
                            cache_dir=cache_dir, timeout=timeout, hierarchy=hierarchy)
        results[target] = report["area"]
        if "workaround" in report:
            results[target] = {**report["area"], "workaround": report["workaround"]}
    return results


def composed(kind, params, lanes, *, slices=(2, 4), **options):
    """Area figures of a ``lanes``-lane core composed from two slices of it.

    For cores whose lanes are identical repeated units (a lane does not depend on how many
    there are), the ``lanes``-lane figures are ``slice(a) + (slice(b) − slice(a)) · (lanes −
    a) / (b − a)`` for the ``slices`` ``(a, b)``: the same design with ``a`` and ``b`` lanes,
    each measured with :func:`measure` (``options`` are its keyword arguments). Only numeric
    columns are composed.
    """
    low_lanes, high_lanes = slices
    if not (isinstance(low_lanes, int) and isinstance(high_lanes, int)
            and 0 < low_lanes < high_lanes):
        raise ValueError(f"slices must be two lane counts a < b, not {slices!r}")
    low, high = (measure(kind, {**params, "lanes": count}, **options) for count in slices)
    scale = (lanes - low_lanes) / (high_lanes - low_lanes)
    return {target: {column: low[target][column]
                     + (high[target][column] - low[target][column]) * scale
                     for column, value in low[target].items() if isinstance(value, (int, float))}
            for target in low}


def synthesize(design, emitted, target, *, reports_dir="reports", cache_dir=DEFAULT_CACHE,
               timeout=synth.DEFAULT_TIMEOUT, hierarchy=True):
    """:func:`hwgen.flow.synth.synthesize` through the result cache: Yosys runs only when this
    Verilog has not been synthesized for ``target`` with this Yosys version and script (and
    then only for the units not synthesized before)."""
    report, _ = synthesize_cached(design, emitted, target, cache_dir=cache_dir,
                                  timeout=timeout, hierarchy=hierarchy)
    return synth.write_report(report, reports_dir)


def synthesize_cached(design, emitted, target, *, cache_dir=DEFAULT_CACHE,
                      timeout=synth.DEFAULT_TIMEOUT, hierarchy=True):
    """``(report, hit)``: the synthesis report from the cache, or made and stored there."""
    cache_dir = pathlib.Path(cache_dir)
    text = emitted.verilog.read_text()

    def flat():
        return cached(cache_dir / "synth" / f"{cache_key(text, target, design.name)}.json",
                      lambda: synth.run_synthesis(design, emitted, target, timeout=timeout,
                                                  hierarchy=False))[0]

    def by_units():
        if len(_hierarchy.deduplicate(text, design.name).units()) == 1:
            return flat()     # nothing repeats: the flat report is the same job
        return synth.run_synthesis(design, emitted, target, timeout=timeout,
                                   unit_cache=Store(cache_dir / "units"))

    if not hierarchy:
        path = cache_dir / "synth" / f"{cache_key(text, target, design.name)}.json"
        report, hit = cached(path, flat)
    else:
        path = cache_dir / "synth" / f"{cache_key(text, target, design.name, hierarchy=True)}.json"
        report, hit = cached(path, by_units)
    return _current(report), hit


def _current(report):
    """A report with its area columns recomputed from its cell counts, so an entry cached
    before a column was added has it too."""
    area = synth.area_of(report["target"], report["cells"], report["area"].get("transistors"))
    return {**report, "area": area}


class Store:
    """A mapping kept as one JSON file per key in ``directory``, each written atomically."""

    def __init__(self, directory):
        self.directory = pathlib.Path(directory)

    def get(self, key, default=None):
        path = self.directory / f"{key}.json"
        return json.loads(path.read_text()) if path.exists() else default

    def __setitem__(self, key, value):
        write_atomic(self.directory / f"{key}.json", json.dumps(value, indent=2))


def cached(path, compute):
    """``(result, True)`` when the JSON at ``path`` exists, else ``(compute(), False)`` after
    storing the result there atomically (a reader never sees half an entry)."""
    path = pathlib.Path(path)
    if path.exists():
        return json.loads(path.read_text()), True
    result = compute()
    write_atomic(path, json.dumps(result, indent=2))
    return result, False
