"""Run golden vectors through a component in the Amaranth simulator.

The quick path for unit tests and cycle-count measurements: no Verilog, no Verilator. It
drives the same :class:`~hwgen.flow.traffic.Traffic` as the cocotb testbench does, so both
check the same thing.
"""
import sys

from amaranth import Value
from amaranth.sim import Simulator

from hwgen.flow.traffic import Traffic
from hwgen.flow.verilog import describe_streams

__all__ = ["run_vectors"]


def run_vectors(component, vectors, *, valid_prob=1.0, ready_prob=1.0, seed=0,
                stall_limit=2000, drain_cycles=32, monitors=()):
    """Simulate ``component`` on ``vectors``; raise ``TrafficError`` on any mismatch.

    ``monitors`` are async processes (``async def monitor(ctx)``) that run alongside, e.g. to
    assert a property of internal signals every cycle. Returns the run's
    :meth:`Traffic.stats`.
    """
    traffic = Traffic(describe_streams(component), vectors, valid_prob=valid_prob,
                      ready_prob=ready_prob, seed=seed, stall_limit=stall_limit,
                      drain_cycles=drain_cycles)
    ports = {"__".join(map(str, path)): Value.cast(value)
             for path, _, value in component.signature.flatten(component)}
    sampled_names = traffic.sampled_ports
    sampled_values = [ports[name] for name in sampled_names]

    async def testbench(ctx):
        while not traffic.finished:
            for name, value in traffic.drive().items():
                ctx.set(ports[name], value)
            _, _, *values = await ctx.tick().sample(*sampled_values)
            traffic.observe(dict(zip(sampled_names, values)))

    # The simulator compiles masks of wide signals (tens of thousands of bits) to Python
    # source as decimal literals, past the interpreter's default int-to-str digit limit;
    # the limit comes back after, since hwgen's config checks rely on it.
    digits = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        simulator = Simulator(component)
        simulator.add_clock(1e-8)
        simulator.add_testbench(testbench)
        for monitor in monitors:
            simulator.add_process(monitor)
        simulator.run()
    finally:
        sys.set_int_max_str_digits(digits)
    return traffic.stats()
