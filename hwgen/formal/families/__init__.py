"""Per-family knowledge the proofs need: what each kind is proved equivalent to, and which
golden model tells a replayed counterexample what the design owed.

A kind is proved equivalent either to a reference written from its definition
(:mod:`.modred`) or, where the family has a plain baseline built for clarity, to that
baseline on every input sequence (LUT ternary core ≡ add/sub core, bit-serial ≡
bit-parallel, parallel Huffman decoder ≡ serial one).
"""
import dataclasses

from hwgen import registry
from hwgen.cores.bitserial.dot import BitParallelEngine, BitSerialEngine
from hwgen.formal.families import dot, modred
from hwgen.formal.harness import LockstepHarness

__all__ = ["REFERENCES", "ENGINES", "NO_PACKET_ACCOUNTING", "EXPECTED", "Equivalence",
           "equivalences", "expected"]

# Kind → the kind it is proved equivalent to, run in lockstep on the same inputs.
REFERENCES = {
    "ternary_lut": "ternary_addsub",
    "ternary_mac": "ternary_addsub",
    "bitserial_dot": "bitparallel_dot",
    "huffman_kv_decoder": "huffman_serial_decoder",
}


# (kind, property) → the engine for it where the property's default
# (:data:`hwgen.formal.prove.ENGINES`) does worse: a reducer's one-beat proof with bmc3 is
# faster on every instance measured (q = 3329 at 16 bits 1 CPU-s, yices 12 s) and gets
# through full-width beats yices does not (Montgomery at q = 3329 and 24 bits: 77 CPU-s,
# yices out of time); the Huffman decoders' equivalence reached
# depth 25 in 300 s with boolector, 18 with yices; bitserial_dot ≡ bitparallel_dot depth 9 in
# 300 s with boolector, 8 in 600 s with yices; the LLM tile's stream rules are not closed by
# k-induction, PDR proves them; PDR finds no invariant for the NTT's answer bound in 300 s,
# where bounded model checking at least reaches a depth.
ENGINES = {
    ("modred", "equivalence"): "bmc3",
    ("huffman_kv_decoder", "equivalence"): "boolector",
    ("bitserial_dot", "equivalence"): "boolector",
    ("llm_tile", "stream"): "pdr",
    ("ntt_tile", "answer"): "yices",
}

# Kinds whose answers do not follow input packets: the LLM tile answers each command beat
# with zero or more response beats, so only the stream rules are checked on it.
NO_PACKET_ACCOUNTING = {"llm_tile"}


@dataclasses.dataclass(frozen=True)
class Equivalence:
    """A harness asserting the design's functional equivalence, what it is equivalent to
    and, for a reference design, that design's performance figures (its latency sets how
    deep the proof must go). ``part`` names a proof about a part of the design (its job
    directory is ``equivalence_PART``), ``engine`` the engine it needs (default: as for the
    whole design, :data:`ENGINES`). ``induction`` is the ``k`` of a proof by k-induction, for
    a harness that states the invariants which make its property inductive (default:
    bounded model checking, or the engine's own unbounded proof); ``depth`` the steps a
    bounded proof needs, where the harness knows them (default: from the performance
    figures, :func:`hwgen.formal.prove.default_depth`)."""
    harness: object
    reference: str
    performance: dict = None
    part: str = None
    engine: str = None
    induction: int = None
    depth: int = None


def _shared(values, params_class):
    """The entries of ``values`` that ``params_class`` also has (recursing into nested
    parameter sets): the reference takes every setting the two kinds share."""
    shared = {}
    for field in dataclasses.fields(params_class):
        if field.name not in values:
            continue
        rule = field.metadata["rule"]
        value = values[field.name]
        nested = getattr(rule, "params_class", None)
        shared[field.name] = _shared(value, nested) if nested and isinstance(value, dict) \
            else value
    return shared


def _reference_params(params, kind_name):
    kind = registry.lookup(kind_name)
    return kind, kind.params.from_mapping(_shared(params.to_dict(), kind.params), kind=kind_name)


def equivalences(design):
    """The :class:`Equivalence` proofs for ``design`` (none if its kind has no reference)."""
    if design.kind.name == "modred":
        return _modred(design)
    if getattr(design.params, "value_weights", False):
        # Weights given as values meet a full multiplier; no add/sub core takes them.
        return []
    if design.kind.name not in REFERENCES:
        return []
    kind, params = _reference_params(design.params, REFERENCES[design.kind.name])
    reference = kind.build(params)
    found = [Equivalence(LockstepHarness(design.build(), reference), kind.name,
                         reference.performance)]
    if design.kind.name == "bitserial_dot":
        found += _bitserial_engines(design.params, params)
    return found


# k of the reducer pipeline's proof: its assertions are 1-inductive (see modred.PipelineHarness).
# Its engine: boolector, which relates two copies of a step's constant multiplication (`*`)
# where yices does not (Barrett at q = 3329, 24 bits: 59–80 CPU-s, yices out of time in
# 300 s); on the other methods the two take a few seconds alike.
PIPELINE_INDUCTION = 1
PIPELINE_ENGINE = "boolector"


def _modred(design):
    """A lone beat against the definition, for every ``x`` (bounded to the beat's latency),
    and where :class:`modred.PipelineHarness` covers the design, every beat of every input
    sequence against the datapath on its own ``x`` (k-induction): together, the design ≡
    its definition on every input sequence."""
    core = design.build()
    spec = modred.SpecHarness(core)
    what = "x · R⁻¹ mod q" if core.params.plan.method == "montgomery" else "x mod q"
    found = [Equivalence(spec, f"{what} (one beat, every x)", depth=spec.depth)]
    if modred.PipelineHarness.covers(core.params):
        found.append(Equivalence(modred.PipelineHarness(design.build()),
                                 "the datapath on each beat's own x (every input sequence)",
                                 part="pipeline", engine=PIPELINE_ENGINE,
                                 induction=PIPELINE_INDUCTION))
    return found


# k of the engines' proofs against the definition of a beat sum: the invariants the harness
# states make the property 1-inductive; one step more costs little.
ENGINE_INDUCTION = 2


def _bitserial_engines(params, reference_params):
    """The engines behind the group-scale accumulator, for every input sequence: each against
    the definition of a beat sum (k-induction) where :class:`dot.EngineSpecHarness` covers
    them, else the serial engine in lockstep with the parallel one (PDR)."""
    if not dot.EngineSpecHarness.covers(params):
        return [Equivalence(dot.engine_harness(params, reference_params),
                            "bitparallel_dot's engine (beat sums)", part="engine",
                            engine="pdr")]
    return [Equivalence(dot.EngineSpecHarness(engine(engine_params), engine_params),
                        f"beat sums' definition ({name})", part=part, engine="yices",
                        induction=ENGINE_INDUCTION)
            for engine, engine_params, name, part in (
                (BitSerialEngine, params, "bit-serial engine", "engine"),
                (BitParallelEngine, reference_params, "bit-parallel engine", "reference_engine"))]


# Kind → golden output beats for accepted input beats (the replay's expected values).
EXPECTED = {
    "modred": modred.expected,
    "bitserial_dot": dot.bitserial_expected,
    "bitparallel_dot": dot.bitserial_expected,
    "ternary_lut": dot.ternary_expected,
    "ternary_addsub": dot.ternary_expected,
    "ternary_mac": dot.ternary_expected,
}


def expected(design, beats):
    """The output beats ``design`` owes for the accepted input ``beats``, or ``None`` where
    no golden model here maps input beats to output beats (the Huffman decoders, the tops)."""
    golden = EXPECTED.get(design.kind.name)
    return {"o": golden(design.params, beats)} if golden else None
