# amaranth: UnusedElaboratable=no
"""The NTT tile in the Amaranth simulator, its declared figures, and its parameter rules."""
import random
import re

import pytest
from amaranth.back import verilog
from amaranth.hdl import Fragment

from hwgen.golden import moduli
from hwgen.config import ConfigError, from_mapping
from hwgen.cores.modred import ModMulParams
from hwgen.cores.ntt import NttParams, NttTile, tile
from hwgen.cores.ntt.tile import _issue_order, bank_of, overlap_is_safe, twiddle_rom
from hwgen.flow.pysim import run_vectors
from hwgen.flow.traffic import TrafficError
from hwgen.flow.verilog import manifest
from hwgen.golden import ntt as golden
from tests.golden.test_ntt import schoolbook_negacyclic

# Tests that only read declared figures build the tile's sub-components without elaborating.
pytestmark = pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")

# Several moduli (12 to 64 bits) and every reduction method of the butterfly's multiplier.
CONFIGS = [
    dict(n=8, modulus=7681, method="barrett"),
    dict(n=16, modulus="falcon", method="montgomery"),
    dict(n=16, modulus="dilithium", method="special"),
    dict(n=8, modulus="kyber", method="lut"),
    dict(n=16, modulus="babybear", method="hybrid"),
    dict(n=8, modulus=7681, method="iterative"),
    dict(n=8, modulus="goldilocks", method="montgomery"),
    dict(n=16, modulus="kyber", layers=3, method="barrett"),
    dict(n=64, modulus="dilithium", method="montgomery"),
    dict(n=16, modulus=7681, method="barrett", butterflies=2),
    dict(n=32, modulus="kyber", layers=4, butterflies=4, method="barrett"),
    dict(n=64, modulus="dilithium", method="montgomery", butterflies=2),
]


def label(kwargs):
    return "-".join(str(value) for value in kwargs.values())



def run(params, beats, **traffic):
    vectors = {"inputs": {"i": beats},
               "outputs": {"o": golden.expected_outputs(beats, params.q, params.n,
                                                         params.layers)}}
    return run_vectors(NttTile(params), vectors, stall_limit=5000, **traffic)


@pytest.mark.parametrize("kwargs", CONFIGS, ids=label)
def test_matches_golden_under_backpressure(kwargs):
    params = NttParams(**kwargs)
    run_vectors(NttTile(params), golden.vectors(params, 4, seed=2), valid_prob=0.6,
                ready_prob=0.5, seed=5, stall_limit=5000)


def test_forward_then_inverse_through_the_tile_is_the_identity():
    params = NttParams(n=16, modulus="falcon", method="barrett")
    a = list(range(100, 116))
    beats = golden.command_beats(a) + golden.command_beats(golden.forward(a, params.q), 1)
    stats = run(params, beats, ready_prob=0.7, seed=1)
    assert stats["emitted"] == {"o": 32}


def test_negacyclic_polynomial_multiplication_through_the_tile():
    params = NttParams(n=16, modulus="dilithium", method="montgomery")
    q, rng = params.q, random.Random(8)
    a, b = ([rng.randrange(q) for _ in range(16)] for _ in range(2))
    pointwise = [x * y % q for x, y in zip(golden.forward(a, q), golden.forward(b, q))]
    beats = [beat for values, inverse in [(a, 0), (b, 0), (pointwise, 1)]
             for beat in golden.command_beats(values, inverse)]
    product = golden.expected_outputs(beats, q, 16)[32:]
    assert [beat["coeff"] for beat in product] == schoolbook_negacyclic(a, b, q)
    run(params, beats, valid_prob=0.9, ready_prob=0.8, seed=6)


def test_malformed_transforms_give_one_error_beat_each_and_never_hang():
    params = NttParams(n=8, modulus=7681, method="barrett")
    good = list(range(8))
    too_big = good[:3] + [params.q] + good[4:]
    beats = [beat for values, inverse in [([3], 0), (good[:7], 0), (good + [1], 0),
                                          (good * 3, 0), (too_big, 1), (good, 0)]
             for beat in golden.command_beats(values, inverse)]
    expected = golden.expected_outputs(beats, params.q, params.n)
    assert expected[:5] == [golden.ERROR_BEAT] * 5 and len(expected) == 13
    run(params, beats, valid_prob=0.8, ready_prob=0.6, seed=4)


def test_a_wrong_result_is_caught():
    params = NttParams(n=8, modulus=7681, method="barrett")
    beats = golden.command_beats(list(range(8)))
    outputs = golden.expected_outputs(beats, params.q, params.n)
    outputs[3] = {**outputs[3], "coeff": (outputs[3]["coeff"] + 1) % params.q}
    with pytest.raises(TrafficError, match="beat 3"):
        run_vectors(NttTile(params), {"inputs": {"i": beats}, "outputs": {"o": outputs}})


def back_to_back(params, directions):
    """Stats of well-formed transforms in ``directions`` (0 forward, 1 inverse) sent back to
    back at full rate, and the measured period between them."""
    n = params.n
    beats = [beat for index, inverse in enumerate(directions)
             for beat in golden.command_beats([(7 * j + index) % params.q for j in range(n)],
                                              inverse)]
    stats = run(params, beats)
    period = (stats["last_emit"]["o"] - stats["first_emit"]["o"] - (n - 1)) / (len(directions) - 1)
    return stats, period


@pytest.mark.parametrize("kwargs", [CONFIGS[0], CONFIGS[1], CONFIGS[5], CONFIGS[8],
                                    CONFIGS[10], CONFIGS[11]], ids=label)
def test_declared_latency_and_period_are_the_measured_ones(kwargs):
    params = NttParams(**kwargs)
    figures = NttTile(params).performance
    exact = figures["butterflies_per_cycle"] == figures["butterflies"]
    # One direction, then alternating (each change drains the butterfly pipeline).
    for directions, declared in (([1, 1, 1], figures["cycles_per_transform"]),
                                 ([0, 1, 0, 1], figures["cycles_per_transform"]
                                  + figures["direction_change_cycles"])):
        stats, period = back_to_back(params, directions)
        latency = stats["first_emit"]["o"] - (params.n - 1)
        if exact:
            assert (latency, period) == (figures["latency_cycles"], declared)
        else:
            # An iterative multiplier's registers absorb some of its intervals: upper bounds.
            assert latency <= figures["latency_cycles"] and period <= declared
    assert figures["cycles_per_beat"] == figures["cycles_per_transform"] / params.n


def test_stages_overlap_and_keep_the_butterfly_busy():
    # Load and unload hide behind the stages, and each stage follows the previous one after
    # a single idle cycle: 8 · 128 butterflies in 8 · 129 + 1 cycles.
    figures = NttTile(NttParams(n=256, modulus="dilithium", method="montgomery")).performance
    assert figures["stages_overlap"] and figures["butterflies_per_cycle"] == 1
    assert figures["cycles_per_transform"] == 8 * 129 + 1
    assert figures["butterfly_utilization"] >= 0.95
    kyber = NttTile(NttParams(n=256, modulus="kyber", layers=7)).performance
    assert kyber["cycles_per_transform"] == 7 * 129 + 1 and kyber["butterfly_utilization"] >= 0.95
    # Small transforms: a stage is shorter than the butterfly's pipeline, so stages wait.
    assert not NttTile(NttParams(n=8, modulus=7681, method="barrett")).performance[
        "stages_overlap"]


def test_several_butterflies_read_and_write_distinct_banks():
    # The operands issued together sit in 2·lanes different banks at every stage.
    for n, lanes in ((16, 2), (64, 4), (256, 8)):
        for bit in range(n.bit_length() - 1):
            for group in _issue_order(n, 1 << bit, lanes):
                operands = [a for first in group for a in (first, first + (1 << bit))]
                assert len({bank_of(a, lanes) for a in operands}) == 2 * lanes
    figures = NttTile(NttParams(n=256, butterflies=2)).performance
    assert figures["butterflies_per_cycle"] == 2
    assert figures["cycles_per_transform"] == 8 * 65 + 1
    assert figures["butterfly_utilization"] >= 0.95


@pytest.mark.parametrize("kwargs", [CONFIGS[1], CONFIGS[8], CONFIGS[11]], ids=label)
def test_no_enabled_read_meets_a_write_to_its_word(kwargs, monkeypatch):
    # The buffers tell Yosys (no_rw_check) that read/write collisions never matter: every
    # enabled read port must differ in address from an enabled write port of its memory.
    ports = {}  # buffer memory → [read port, write port]

    class Recorded(tile.Memory):
        def read_port(self, **kwargs):
            return self._record(super().read_port(**kwargs), 0)

        def write_port(self, **kwargs):
            return self._record(super().write_port(**kwargs), 1)

        def _record(self, port, index):
            if self.attrs.get("no_rw_check"):
                ports.setdefault(id(self), [None, None])[index] = port
            return port

    monkeypatch.setattr(tile, "Memory", Recorded)

    def collisions(**traffic):
        ports.clear()
        found = []

        async def monitor(ctx):
            signals = [signal for read, write in ports.values()
                       for signal in (read.en, read.addr, write.en, write.addr)]
            async for _, _, *values in ctx.tick().sample(*signals):
                for index in range(0, len(values), 4):
                    read_en, read_addr, write_en, write_addr = values[index:index + 4]
                    if read_en and write_en and read_addr == write_addr:
                        found.append((index // 4, read_addr))

        params = NttParams(**kwargs)
        # Well-formed transforms both ways, with a malformed (short) one in between.
        beats = [beat for index, length in enumerate((params.n, params.n, 5, params.n))
                 for beat in golden.command_beats([(5 * j + index) % params.q
                                                   for j in range(length)], index % 2)]
        run(params, beats, monitors=[monitor], **traffic)
        assert len(ports) == 6 * params.butterflies
        return found

    assert collisions() == []
    assert collisions(valid_prob=0.7, ready_prob=0.6, seed=3) == []


def test_overlap_is_proved_on_the_issue_schedule():
    # A stage can start before the previous one finishes while the pipeline is at most n/4.
    assert overlap_is_safe(256, 8, 64) and not overlap_is_safe(256, 8, 65)
    assert overlap_is_safe(16, 4, 4) and not overlap_is_safe(16, 4, 5)


def test_twiddle_rom_holds_scaled_twiddles_in_use_order():
    q, n, r = 12289, 16, 1 << 15
    forward, inverse = golden.twiddles(q, n)
    rom = twiddle_rom(q, n, r)
    assert len(rom) == 2 * n
    assert rom[:n] == [value * r % q for value in forward]
    # The inverse stages use the entries 8…15, 4…7, 2…3 and 1, one after the other.
    order = [*range(8, 16), *range(4, 8), 2, 3, 1]
    assert rom[n:] == [inverse[index] * r % q for index in order] + [0]


def test_manifest_streams_and_figures():
    design = from_mapping({"name": "t", "kind": "ntt_tile",
                           "params": {"n": 16, "modulus": "falcon", "method": "montgomery"}})
    component = design.build()
    Fragment.get(component, None)
    described = manifest(design, component)
    assert described["streams"]["i"]["fields"] == {
        "coeff": {"lsb": 0, "width": 14, "signed": False},
        "inverse": {"lsb": 14, "width": 1, "signed": False},
        "last": {"lsb": 15, "width": 1, "signed": False}}
    assert described["streams"]["o"]["fields"] == {
        "coeff": {"lsb": 0, "width": 14, "signed": False},
        "last": {"lsb": 14, "width": 1, "signed": False},
        "err": {"lsb": 15, "width": 1, "signed": False}}
    assert described["montgomery_r"] == 1 << 15 and described["method"] == "montgomery"
    assert described["latency_cycles"] == component.performance["latency_cycles"]
    assert described["params"]["stages"] == ModMulParams(modulus="falcon",
                                                         method="montgomery").stages


def test_verilog_is_deterministic():
    params = NttParams(n=8, modulus=7681, method="barrett")
    first = verilog.convert(NttTile(params), name="ntt", emit_src=False)
    assert first == verilog.convert(NttTile(params), name="ntt", emit_src=False)


MODULUS_RULE = ("must be an integer between 3 and 2^16384 or the name of a modulus in "
                "hwgen.golden.moduli")


@pytest.mark.parametrize("kwargs,error,message", [
    (dict(n=12), ValueError, "n must be a power of two between 8 and 4096, not 12"),
    (dict(n=4), ValueError, "n must be a power of two between 8 and 4096, not 4"),
    (dict(n=8192), ValueError, "n must be a power of two between 8 and 4096, not 8192"),
    (dict(n="16"), TypeError, "n must be a power of two between 8 and 4096, not '16'"),
    (dict(n=256, modulus="kyber"), ValueError,
     "n must give 2^layers residues with 2^(layers+1) dividing q − 1 (at most 128 residues "
     "for modulus 'kyber'; n = 256), not 256"),
    (dict(n=256, modulus="kyber", layers=8), ValueError,
     "layers must give 2^layers residues with 2^(layers+1) dividing q − 1 (at most 128 "
     "residues for modulus 'kyber'; n = 256), not 8"),
    (dict(n=16, layers=5), ValueError, "layers must be at most log2 n = 4, not 5"),
    (dict(layers=0), ValueError, "layers must be an integer between 1 and 12, not 0"),
    (dict(butterflies=3), ValueError, "butterflies must be a power of two between 1 and 8, "
                                      "not 3"),
    (dict(n=16, butterflies=8), ValueError, "butterflies must be at most n/4 = 4, not 8"),
    (dict(modulus=12288), ValueError,
     "modulus must be a prime q with 4 dividing q − 1, not 12288"),
    (dict(modulus="mersenne31"), ValueError,
     "modulus must be a prime q with 4 dividing q − 1, not 'mersenne31'"),
    (dict(modulus="dilitium"), ValueError,
     f"modulus {MODULUS_RULE}, not 'dilitium'; did you mean 'dilithium'?"),
    (dict(modulus=2.5), TypeError, f"modulus {MODULUS_RULE}, not 2.5"),
    (dict(method="montgomry"), ValueError,
     "method must be one of 'auto', 'lut', 'iterative', 'hybrid', 'barrett', 'montgomery', "
     "'special', not 'montgomry'; did you mean 'montgomery'?"),
    (dict(modulus="falcon", method="special"), ValueError,
     "modulus must be 2^n − c with c small enough that 4 folds reduce 28-bit inputs below 3q "
     "for method 'special', not 12289"),
    (dict(method="barrett", table_storage="bram"), ValueError,
     "table_storage must be 'logic' for method 'barrett', not 'bram'"),
    (dict(k=13), ValueError, "k must be an integer between 1 and 12, not 13"),
    (dict(modulus="dilithium", method="lut", stages=99), ValueError,
     "stages must be between 1 and 7 for this configuration, not 99"),
    (dict(modulus="dilithium", r_bits=20), ValueError,
     "r_bits must be at least the modulus width (23 bits), not 20"),
], ids=lambda value: value if isinstance(value, str) and len(value) < 8 else None)
def test_parameter_rules(kwargs, error, message):
    with pytest.raises(error, match="^" + re.escape(message) + "$"):
        NttParams(**kwargs)
    name, rule = message.split(" ", 1)
    with pytest.raises(ConfigError, match="^" + re.escape(f"params.{name}: {rule}") + "$"):
        from_mapping({"name": "x", "kind": "ntt_tile", "params": kwargs})


def test_components_check_their_params():
    with pytest.raises(TypeError, match=r"^Params must be a NttParams, not \{\}$"):
        NttTile({})
    with pytest.raises(ConfigError, match=r"^params\.tag_bits: is not a parameter of kind "
                                          r"'ntt_tile'"):
        from_mapping({"name": "x", "kind": "ntt_tile", "params": {"tag_bits": 4}})


def test_defaults_are_a_realistic_dilithium_transform():
    params = NttParams()
    assert (params.n, params.q) == (256, moduli.lookup("dilithium"))
    assert params.coeff_bits == 23 and params.log_n == 8
