"""``hwgen prove``: the design's properties through SymbiYosys, one job per property.

Properties (see :mod:`hwgen.formal.properties` and :mod:`hwgen.formal.families`):

* ``stream``: the stream rules on every stream, tried by k-induction (an unbounded proof),
  bounded where the induction step does not close;
* ``answer``: for one-in/one-out designs, packet accounting with the answer bound
  ``latency_cycles`` of the manifest, by PDR (unbounded; bounded model checking with
  ``--engine yices|boolector``);
* ``equivalence``: the design ≡ a reference, where its family has one, by bounded model
  checking; for some kinds also a part of the design ≡ the reference's part, proved for
  every input sequence by PDR or by k-induction where the harness states the invariants
  (reducers: a lone beat against the definition, and the pipeline for every input sequence,
  see :mod:`hwgen.formal.families`).

``depth`` is the number of steps checked (``induction=True`` tries k-induction for every
property, with ``k = depth``). A counterexample is kept as the solver's VCD and as a replay
file (:mod:`hwgen.formal.trace`) with the design's inputs per cycle, which
``hwgen.formal.replay`` drives into the emitted Verilog under cocotb.
"""
import dataclasses
import json
import math
import pathlib
import re
import shutil

from amaranth.back import rtlil

from hwgen.flow import verilog
from hwgen.flow.files import write_atomic
from hwgen.flow.payload import unpack
from hwgen.formal import families, sby, trace
from hwgen.formal.harness import StreamHarness

__all__ = ["PROPERTIES", "ENGINES", "Result", "prove", "default_depth", "render"]

PROPERTIES = ("stream", "answer", "equivalence")
# Property → its engine unless the kind has another (:data:`hwgen.formal.families.ENGINES`)
# or one is asked for. PDR proves the answer bound of every kind but the NTT tile in seconds,
# where bounded model checking stopped at a depth; the stream rules close by k-induction as
# fast; equivalence, which PDR does not finish for whole designs, is bounded.
ENGINES = {"stream": "yices", "answer": "pdr", "equivalence": "yices"}
# Properties tried by k-induction unless asked otherwise: the stream rules only involve a
# register or two per stream, so the induction step usually closes.
INDUCTIVE = ("stream",)
TOP = "harness"


@dataclasses.dataclass
class Result:
    """One property of one design: what sby established, and where the evidence is."""
    design: str
    prop: str
    what: str
    outcome: sby.Outcome
    engine: str
    replay: pathlib.Path = None

    @property
    def verdict(self):
        o = self.outcome
        return {"proved": "proved (PDR)" if self.engine in sby.UNBOUNDED
                else "proved (k-induction)",
                "bounded": f"bounded to depth {o.depth}",
                "counterexample": f"counterexample at step {o.depth}",
                "timeout": ("timed out" if self.engine in sby.UNBOUNDED
                            else f"timed out, bounded to depth {o.depth}"),
                "error": "error"}[o.status]

    def to_dict(self):
        o = self.outcome
        return {"design": self.design, "property": self.prop, "what": self.what,
                "engine": self.engine, "status": o.status, "depth": o.depth, "seconds": round(o.seconds, 1),
                "cpu_seconds": round(o.cpu_seconds, 1),
                "failed": o.failed, "trace": str(o.trace) if o.trace else None,
                "replay": str(self.replay) if self.replay else None}


def default_depth(performance, prop, reference=None):
    """Steps for the stream rules: k-induction with a k that lets a beat occupy the input
    and a few cycles more (the rules are about a register or two per stream). For the answer
    bound: a beat enters, crosses the design and leaves, with a second one behind it (twice
    the latency plus the cycles a beat occupies the input). For equivalence, one beat crossing the slower of the design and its
    reference (``reference``: the reference design's figures), with room to spare: each
    further step adds a copy of the datapath with free data to the solver's problem, and
    the time grows about threefold per step."""
    figures = [performance] + ([reference] if reference else [])
    latency = max(f.get("latency_cycles", 8) for f in figures)
    interval = max(math.ceil(f.get("cycles_per_beat", 1)) for f in figures)
    if prop == "stream":
        return max(6, interval + 4)
    if prop == "equivalence":
        return latency + 2 * interval + 2
    return 2 * latency + interval + 4


def _check_messages(rtlil_text):
    """``$check`` cell name → its message, to name a failed assertion."""
    messages = {}
    for name, body in re.findall(r"cell \$check \$(\d+)\n(.*?)\n  end", rtlil_text, re.S):
        found = re.search(r'parameter \\FORMAT "(.*)"', body)
        messages[f"check_{name}"] = found.group(1) if found else name
    return messages


@dataclasses.dataclass(frozen=True)
class _Job:
    """One sby job: a harness, what it states, the reference's figures (for the default
    depth), the job directory's name, the engine unless one is asked for, whether a
    counterexample is at the design's own ports (so it replays), and the ``k`` of its
    k-induction or the depth it needs, where the harness sets them."""
    harness: object
    what: str
    reference: dict
    name: str
    engine: str
    replays: bool = True
    induction: int = None
    depth: int = None


def _jobs(design, prop, manifest):
    engine = families.ENGINES.get((design.kind.name, prop), ENGINES[prop])
    if prop == "stream":
        return [_Job(StreamHarness(design.build(), bound=None), "stream rules", None, prop,
                     engine)]
    if prop == "answer":
        bound = manifest.get("latency_cycles")
        directions = [info["dir"] for info in manifest["streams"].values()]
        if (design.kind.name in families.NO_PACKET_ACCOUNTING or not bound
                or sorted(directions) != ["in", "out"]):
            return []
        return [_Job(StreamHarness(design.build(), bound=bound),
                     f"packets answered within {bound} cycles", None, prop, engine)]
    return [_Job(found.harness, f"≡ {found.reference}", found.performance,
                 f"{prop}_{found.part}" if found.part else prop, found.engine or engine,
                 replays=found.part is None, induction=found.induction, depth=found.depth)
            for found in families.equivalences(design)]


def _accepted_beats(steps, manifest, stream):
    fields = manifest["streams"][stream]["fields"]
    return [unpack(fields, step[f"{stream}__payload"]) for step in steps
            if step.get(f"{stream}__valid") and step.get(f"{stream}__ready")]


def prove(design, out_dir="build", *, props=PROPERTIES, depth=None, engine=None,
          timeout=300, induction=False):
    """Run each property in ``props`` on ``design``; return their :class:`Result` list.

    Jobs live in ``OUT/NAME/formal/PROPERTY`` (``PROPERTY_PART`` for a part's proof); the emitted Verilog and manifest (what a
    counterexample replays against) are written beside them by :func:`hwgen.flow.verilog.emit`.
    """
    emitted = verilog.emit(design, out_dir)
    manifest = json.loads(emitted.manifest.read_text())
    results = []
    for prop, job in ((prop, job) for prop in props for job in _jobs(design, prop, manifest)):
        harness, what = job.harness, job.what
        steps_deep = (depth or job.induction or job.depth
                      or default_depth(manifest, prop, job.reference))
        job_dir = emitted.dir / "formal" / job.name
        shutil.rmtree(job_dir, ignore_errors=True)
        text = rtlil.convert(harness, name=TOP, emit_src=False)
        solver = engine or job.engine
        inductive = (induction or prop in INDUCTIVE or solver in sby.UNBOUNDED
                     or job.induction is not None)
        sby.write_job(job_dir, text, top=TOP, mode="prove" if inductive else "bmc",
                      depth=steps_deep, engine=solver, timeout=timeout)
        outcome = sby.run(job_dir, depth=steps_deep, timeout=timeout)
        messages = _check_messages(text)
        outcome.failed = [messages.get(name.split(".")[-1], name)
                          for name in outcome.failed]
        result = Result(design.name, prop, what, outcome, solver)
        if outcome.status == "counterexample" and job.replays:
            steps = trace.read(outcome.trace)
            inputs = [name for name, info in manifest["streams"].items() if info["dir"] == "in"]
            owed = families.expected(design, _accepted_beats(steps, manifest, inputs[0]))
            result.replay = trace.write_replay(
                job_dir / "replay.json", steps=steps, manifest=manifest, failed=outcome.failed,
                expected=owed, answer_bound=harness.bound if prop == "answer" else None)
        write_atomic(job_dir / "result.json", json.dumps(result.to_dict(), indent=2) + "\n")
        results.append(result)
    return results


def render(results):
    """A Markdown table of ``results``."""
    lines = ["| design | property | result | solver | time (s) | CPU time (s) |",
             "|---|---|---|---|---|---|"]
    for result in results:
        o = result.outcome
        lines.append(f"| {result.design} | {result.prop}: {result.what} | {result.verdict} | "
                     f"{result.engine} | {o.seconds:.1f} | {o.cpu_seconds:.1f} |")
    return "\n".join(lines) + "\n"
