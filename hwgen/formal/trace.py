"""Counterexamples: the solver's VCD → the design's port values, cycle by cycle.

smtbmc writes one VCD sample per step (time ``10·step``) and a clock edge in between. The
harness copies every design port to a top-level ``dut__PORT`` signal
(:func:`hwgen.formal.harness.probe_ports`); :func:`read` returns those per step, which is what
the cocotb bench replays: step ``k``'s inputs are driven in cycle ``k`` after reset (the
proof starts from the reset state).
"""
import json
import pathlib

from hwgen.flow.files import write_atomic
from hwgen.formal.harness import PROBE

__all__ = ["read", "replay_sequence", "write_replay"]


def _parse_vcd(text):
    codes, scope, samples, current, time = {}, [], {}, {}, None
    tokens = iter(text.split())
    for token in tokens:
        if token == "$scope":
            next(tokens)
            scope.append(next(tokens))
        elif token == "$upscope":
            scope.pop()
        elif token == "$var":
            _kind, _width, code, name = next(tokens), next(tokens), next(tokens), next(tokens)
            if len(scope) == 1 and name.startswith(PROBE):
                codes[code] = name[len(PROBE):]
        elif token.startswith("#"):
            if time is not None:
                samples[time] = dict(current)
            time = int(token[1:])
        elif token[0] in "bB":
            value, code = token[1:], next(tokens)
            if code in codes:
                current[codes[code]] = None if set(value) & set("xXzZ") else int(value, 2)
        elif token[0] in "01xXzZ" and len(token) > 1:
            value, code = token[0], token[1:]
            if code in codes:
                current[codes[code]] = None if value in "xXzZ" else int(value)
    if time is not None:
        samples[time] = dict(current)
    return samples


def read(vcd_path):
    """The design's port values at every step of the trace, as a list of dicts."""
    samples = _parse_vcd(pathlib.Path(vcd_path).read_text())
    steps = sorted(time for time in samples if time % 10 == 0)
    return [samples[time] for time in steps]


def replay_sequence(steps, manifest):
    """Per cycle, the values of the design's inputs (except clock and reset)."""
    inputs = [port for port, info in manifest["ports"].items()
              if info["dir"] == "in" and port not in ("clk", "rst")]
    return [{port: step.get(port) or 0 for port in inputs} for step in steps]


def write_replay(path, *, steps, manifest, failed, expected=None, answer_bound=None):
    """Write the replay file: the design config, the input values per cycle, the assertions
    that failed and, where they apply, the output beats the golden model says the design
    owes and the answer bound of packet accounting."""
    document = {
        "design": {"name": manifest["name"], "kind": manifest["kind"],
                   "params": manifest["params"]},
        "failed": failed,
        "cycles": replay_sequence(steps, manifest),
    }
    if expected is not None:
        document["expected"] = expected
    if answer_bound is not None:
        document["answer_bound"] = answer_bound
    return write_atomic(path, json.dumps(document, indent=1) + "\n")
