"""Area measurements for benches, cost-model calibration and sweeps, with a result cache.

``measure(kind, params)`` emits a design from a kind name and a parameter mapping,
synthesizes it for the requested targets and returns the area figures of each. Results are
cached by a hash of (emitted Verilog, Yosys version, synthesis script, target), so a rerun
of a bench or a sweep only synthesizes what changed.
"""
import hashlib
import json
import os
import pathlib

from hwgen.config import from_mapping
from hwgen.flow import synth, tools, verilog
from hwgen.flow.files import write_atomic

__all__ = ["measure", "synthesize", "cache_key", "cached", "DEFAULT_CACHE"]

DEFAULT_CACHE = pathlib.Path(os.environ.get("HWGEN_CACHE", "build/.cache"))


def cache_key(verilog_text, target, top, *extra):
    """Hash of everything a synthesis result depends on; ``extra`` strings add what a later
    step (place and route: its tool version and options) depends on as well."""
    digest = hashlib.sha256()
    files = synth.script_files(target)
    for part in (verilog_text, tools.versions()["yosys"], "\n".join(synth.script(target, top)),
                 *(f"{name}\n{text}" for name, text in sorted(files.items())), target, *extra):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def measure(kind, params, *, targets=synth.TARGETS, name=None, work_dir="build/measure",
            cache_dir=DEFAULT_CACHE, timeout=synth.DEFAULT_TIMEOUT):
    """Area figures ``{target: area}`` of ``kind`` built with the ``params`` mapping.

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
                            cache_dir=cache_dir, timeout=timeout)
        results[target] = report["area"]
        if "workaround" in report:
            results[target] = {**report["area"], "workaround": report["workaround"]}
    return results


def synthesize(design, emitted, target, *, reports_dir="reports", cache_dir=DEFAULT_CACHE,
               timeout=synth.DEFAULT_TIMEOUT):
    """:func:`hwgen.flow.synth.synthesize` through the result cache: Yosys runs only when this
    Verilog has not been synthesized for ``target`` with this Yosys version and script."""
    key = cache_key(emitted.verilog.read_text(), target, design.name)
    report, _ = cached(pathlib.Path(cache_dir) / "synth" / f"{key}.json",
                       lambda: synth.run_synthesis(design, emitted, target, timeout=timeout))
    return synth.write_report(report, reports_dir)


def cached(path, compute):
    """``(result, True)`` when the JSON at ``path`` exists, else ``(compute(), False)`` after
    storing the result there atomically (a reader never sees half an entry)."""
    path = pathlib.Path(path)
    if path.exists():
        return json.loads(path.read_text()), True
    result = compute()
    write_atomic(path, json.dumps(result, indent=2))
    return result, False
