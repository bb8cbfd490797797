"""The ``hwgen`` command line (also ``python -m hwgen``).

Exit status: 0 on success, 2 for a bad config, argument or output path (a one-line message;
nothing is written), 1 when a tool fails or a design disagrees with its golden model (the
tool's own error text is shown), 130 when interrupted with Ctrl-C.
"""
import argparse
import contextlib
import dataclasses
import functools
import json
import os
import pathlib
import signal
import sys
import tempfile
import textwrap
import threading
import time

from hwgen import registry
from hwgen.board import boards
from hwgen.config import ConfigError, load
from hwgen.flow import measure, pnr, synth, tools, verilog
from hwgen.flow.measure import DEFAULT_CACHE
from hwgen.flow.sim import SimulationError
from hwgen.params import did_you_mean

__all__ = ["main"]


class UsageError(Exception):
    """Arguments that parse but do not fit together."""


def _list(args):
    known = registry.kinds()
    for name in args.kinds:
        if name not in known:
            raise UsageError(f"kind must be one of {', '.join(known)}, not {name!r}"
                             f"{did_you_mean(name, known)}")
    for kind in known.values():
        if args.kinds and kind.name not in args.kinds:
            continue
        print(f"{kind.name}: {kind.description}")
        for name, default, rule, doc in kind.params.describe():
            print(f"    {name:<16} default {default:<10} {rule}")
            print(textwrap.indent(textwrap.fill(doc, 70), " " * 8))
        print()


# Above this cost-model size, emission and simulation take minutes: say so and show progress.
LARGE_GE = 250_000


def _progress(design):
    """``None`` for a design of ordinary size. For one the cost model puts above
    :data:`LARGE_GE`, warn now and return a function that reports each stage as it starts,
    with the seconds since the warning."""
    from hwgen.dse import models
    size = models.predict(design.kind.name, design.params.to_dict()).get("generic.ge")
    if size is None or size < LARGE_GE:
        return None
    print(f"warning: {design.name} is large (cost model: {size / 1e6:.2f} M GE); this may "
          f"take minutes", file=sys.stderr)
    started = time.monotonic()

    def report(stage):
        print(f"[{time.monotonic() - started:5.0f} s] {stage}", file=sys.stderr, flush=True)
    return report


def _verilog(args):
    design = load(args.config)
    emitted = verilog.emit(design, args.out, progress=_progress(design))
    print(f"wrote {emitted.verilog}")
    print(f"wrote {emitted.manifest}")


def _sim(args):
    from hwgen.flow import sim
    design = load(args.config)
    stats = sim.run(design, args.out, count=args.vectors, seed=args.seed,
                    progress=_progress(design))
    full = stats["full_rate"]
    beats_in = sum(full["accepted"].values())
    print(f"{design.name}: PASS ({args.vectors} random vectors plus directed cases, seed "
          f"{args.seed}, random valid/ready gaps and full rate)")
    print(f"full rate: {beats_in} input beats in {full['cycles']} cycles "
          f"({full['cycles'] / max(beats_in, 1):.2f} cycles per input beat)")


def _synth(args):
    design = load(args.config)
    emitted = verilog.emit(design, args.out)
    reports = [measure.synthesize(design, emitted, target, reports_dir=args.reports,
                                  cache_dir=args.cache, timeout=args.timeout,
                                  hierarchy=not args.flat)
               for target in args.target or synth.TARGETS]
    print(synth.render_markdown(reports), end="")


def _pnr(args):
    design = load(args.config)
    targets = args.target or list(pnr.DEVICES)
    for target in targets:
        if args.device and args.device not in pnr.DEVICES[target]:
            raise UsageError(f"--device must be one of {', '.join(pnr.DEVICES[target])} for "
                             f"target {target}, not {args.device!r}")
    emitted = verilog.emit(design, args.out)
    reports = []
    for target in targets:
        reports.append(pnr.place_and_route(design, emitted, target, device=args.device,
                                           seeds=args.seeds, freq_mhz=args.freq,
                                           reports_dir=args.reports, timeout=args.timeout))
    print(synth.render_markdown(reports), end="")


def _bitstream(args):
    from hwgen.flow import bitstream
    design = load(args.config)
    try:
        boards.divisor_for(boards.lookup(args.board).platform().default_clk_frequency, args.baud)
    except ValueError as error:
        raise UsageError(f"--baud: {error}") from None
    report = bitstream.build(design, args.board, out_dir=args.out, reports_dir=args.reports,
                             baud=args.baud, seed=args.seed)
    print(bitstream.render(report), end="")
    if not report["timing_met"]:
        print(f"warning: {report['name']} on {report['board']}: timing {report['timing']}",
              file=sys.stderr)


def _dse(args):
    from hwgen import dse
    from hwgen.dse.runner import Interrupted, SchedulerError
    sweep = dse.load(args.sweep)
    if args.model_only:
        sweep = sweep.as_model_only()
    if args.timeout is not None:
        if args.timeout <= 0:
            raise UsageError(f"--timeout must be a positive number of seconds, "
                             f"not {args.timeout}")
        sweep = dataclasses.replace(sweep, timeout=args.timeout)
    if args.scheduler and args.executor != "dask":
        raise UsageError("--scheduler needs --executor dask")
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be at least 1, not {args.workers}")
    try:
        result = dse.explore(sweep, executor=args.executor, workers=args.workers,
                             scheduler=args.scheduler, cache_dir=args.cache, out_dir=args.out,
                             retry_failed=args.retry_failed)
    except Interrupted as error:
        print(f"{sweep.name}: {error}; outputs with the unfinished points pending are in "
              f"{error.out_dir}/", file=sys.stderr)
        return 130
    except SchedulerError as error:
        raise UsageError(str(error)) from None
    print(f"{sweep.name}: {result.summary()}")
    for path in result.paths:
        print(f"wrote {path}")
    if result.problems:
        raise result.problems[0]
    if result.run["failed"]:
        print(f"warning: {result.run['failed']} point(s) failed; their tool errors are in "
              f"{result.paths[-1]}", file=sys.stderr)


def _calibrate(args):
    from hwgen import dse
    from hwgen.dse.calibrate import calibrate
    sweep = dse.load(args.sweep)
    out_dir = pathlib.Path(args.out) if args.out else sweep.output
    model, before, after = calibrate(args.family, out_dir / "results.json")
    print(f"{args.family}: cost model refitted to {sweep.name} ({out_dir / 'results.json'}), "
          f"wrote {model.path}")
    print("| metric | points | mean error before | after | max error before | after |")
    print("|---|---|---|---|---|---|")
    for metric, (mean, worst, count) in after.items():
        old_mean, old_worst, _ = before.get(metric, (None, None, None))
        shown = [f"{100 * value:.1f}%" if value is not None else "–"
                 for value in (old_mean, mean, old_worst, worst)]
        print(f"| {metric} | {count} | " + " | ".join(shown) + " |")


def _report(args):
    design = load(args.config)
    reports = []
    for target in synth.TARGETS:
        path = synth.report_path(args.reports, design.name, target)
        if path.exists():
            reports.append(json.loads(path.read_text()))
    if not reports:
        raise ConfigError(f"no reports for {design.name} under {args.reports}/ "
                          f"(run `hwgen synth {args.config}` first)")
    print(synth.render_markdown(reports), end="")


def _prove(args):
    from hwgen.formal import prove
    design = load(args.config)
    if args.replay:
        from hwgen.formal import replay
        replay.run(verilog.emit(design, args.out), args.replay)
        print(f"{design.name}: the replayed inputs break no property in simulation")
        return 0
    if args.depth is not None and args.depth < 1:
        raise UsageError(f"--depth must be a positive number of steps, not {args.depth}")
    results = prove.prove(design, args.out, props=args.prop or prove.PROPERTIES,
                          depth=args.depth, engine=args.engine, timeout=args.timeout,
                          induction=args.induction)
    print(prove.render(results), end="")
    for result in results:
        if result.outcome.status == "counterexample":
            print(f"{result.design} {result.prop}: {'; '.join(result.outcome.failed)}\n"
                  f"  trace:  {result.outcome.trace}\n  replay: {result.replay}")
    if any(result.outcome.status == "error" for result in results):
        failed = next(result for result in results if result.outcome.status == "error")
        raise tools.ToolError("sby", tools.error_excerpt(failed.outcome.log))
    return 1 if any(result.outcome.status == "counterexample" for result in results) else 0


def _seconds(text):
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text!r}")
    return value


@functools.cache  # built once per process, however often main() runs
def _parser():
    parser = argparse.ArgumentParser(prog="hwgen", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    list_parser = commands.add_parser("list", help="kinds, their parameters and defaults")
    list_parser.add_argument("kinds", nargs="*", metavar="KIND", help="only these kinds")
    list_parser.set_defaults(run=_list)

    def command(name, run, help):
        sub = commands.add_parser(name, help=help)
        sub.add_argument("config", help="design config (YAML)")
        sub.add_argument("--out", default="build", help="output directory (default: build)")
        sub.set_defaults(run=run)
        return sub

    command("verilog", _verilog, "emit Verilog and the manifest")

    sim_parser = command("sim", _sim, "simulate the emitted Verilog against the golden model")
    sim_parser.add_argument("--vectors", type=int, default=200,
                            help="random vectors besides the directed ones (default: 200)")
    sim_parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")

    for name, run, help, choices in (
            ("synth", _synth, "Yosys area reports", synth.TARGETS),
            ("pnr", _pnr, "nextpnr Fmax and utilization", tuple(pnr.DEVICES))):
        sub = command(name, run, help)
        sub.add_argument("--target", action="append", choices=choices,
                         help=f"repeatable; default: all of {', '.join(choices)}")
        sub.add_argument("--reports", default="reports", help="report directory (default: reports)")
        sub.add_argument("--timeout", type=_seconds, default=synth.DEFAULT_TIMEOUT,
                         help=f"seconds each Yosys or nextpnr run may take "
                              f"(default: {synth.DEFAULT_TIMEOUT})")
        if name == "synth":
            sub.add_argument("--cache", default=str(DEFAULT_CACHE),
                             help=f"result cache: Verilog already synthesized with the same Yosys "
                                  f"is not run again (default: {DEFAULT_CACHE})")
            sub.add_argument("--flat", action="store_true",
                             help="synthesize the whole design flat (the reference) instead of "
                                  "each repeated unit once")
        if name == "pnr":
            sub.add_argument("--device", help="device within the target family "
                             + "; ".join(f"{t}: {', '.join(d)}" for t, d in pnr.DEVICES.items()))
            sub.add_argument("--seeds", type=int, default=pnr.DEFAULT_SEEDS,
                             help="placement seeds; the report gives their median and best "
                                  f"Fmax (default: {pnr.DEFAULT_SEEDS})")
            sub.add_argument("--freq", type=float, default=100.0,
                             help="target clock in MHz (default: 100)")

    bitstream = command("bitstream", _bitstream, "wrap the design behind the UART host "
                        "bridge and build a board bitstream (Yosys, nextpnr, icepack/ecppack)")
    bitstream.add_argument("--board", required=True, choices=boards.BOARDS,
                           help="target board")
    bitstream.add_argument("--baud", type=int, default=115200,
                           help="UART baud rate, 8N1 (default: 115200)")
    bitstream.add_argument("--seed", type=int, default=1, help="placement seed (default: 1)")
    bitstream.add_argument("--reports", default="reports",
                           help="report directory (default: reports)")

    prove_parser = command("prove", _prove, "prove stream properties and functional "
                           "equivalence with SymbiYosys (see docs/formal.md)")
    prove_parser.add_argument("--prop", action="append",
                              choices=("stream", "answer", "equivalence"),
                              help="repeatable; default: all (answer and equivalence where the "
                                   "kind has them)")
    prove_parser.add_argument("--depth", type=int, help="bounded-model-checking steps "
                              "(default: from the design's latency)")
    prove_parser.add_argument("--engine", choices=("yices", "boolector", "pdr", "bmc3"),
                              help="SMT solver behind smtbmc, pdr (ABC's property-directed "
                                   "reachability: unbounded, no depth) or bmc3 (ABC's bounded "
                                   "model checker) (default: per property, see docs/formal.md)")
    prove_parser.add_argument("--induction", action="store_true",
                              help="try k-induction for every property, not only the stream "
                                   "rules")
    prove_parser.add_argument("--timeout", type=_seconds, default=300,
                              help="seconds per property (default: 300)")
    prove_parser.add_argument("--replay", metavar="FILE", help="instead of proving, replay a "
                              "counterexample's replay.json in cocotb on the emitted Verilog")

    dse_parser = commands.add_parser("dse", help="design-space exploration of a sweep file")
    dse_parser.add_argument("sweep", help="sweep file (YAML), see docs/dse.md")
    dse_parser.add_argument("--executor", choices=("local", "dask"), default="local",
                            help="local process pool (default) or Dask distributed")
    dse_parser.add_argument("--scheduler", help="Dask scheduler address (default: a "
                            "LocalCluster for this run)")
    dse_parser.add_argument("--workers", type=int, help="worker processes (default: one "
                            "per CPU)")
    dse_parser.add_argument("--out", help="output directory (default: the sweep's output)")
    dse_parser.add_argument("--cache", default=str(DEFAULT_CACHE),
                            help=f"result cache (default: {DEFAULT_CACHE})")
    dse_parser.add_argument("--timeout", type=float, help="seconds per point, instead of the "
                            "sweep file's timeout")
    dse_parser.add_argument("--model-only", action="store_true",
                            help="rank by the cost model without synthesis (output in "
                            "OUTPUT_model)")
    dse_parser.add_argument("--retry-failed", action="store_true",
                            help="run points again whose tools failed in an earlier run")
    dse_parser.set_defaults(run=_dse)

    calibrate = commands.add_parser("calibrate", help="refit a family's cost model from a "
                                    "sweep's measured results")
    calibrate.add_argument("family", help="family whose constants to refit (e.g. ternary)")
    calibrate.add_argument("sweep", help="the sweep file, already run with `hwgen dse`")
    calibrate.add_argument("--out", help="the sweep's output directory, if not its default")
    calibrate.set_defaults(run=_calibrate)

    report = command("report", _report, "print the Markdown table of existing reports")
    report.add_argument("--reports", default="reports", help="report directory (default: reports)")
    return parser


# Directories a command writes into: argument name → how a message names it.
_OUTPUT_DIRS = {"out": "--out", "reports": "--reports", "cache": "--cache"}


def _check_output_dir(path, option):
    """Refuse, before anything is written, an output directory that cannot be created: a
    path through an existing file, or under a directory this user may not write."""
    path = pathlib.Path(path).absolute()
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"{option}: {path} cannot be a directory: {existing} is a file")
    try:
        # os.access cannot tell (root may "write" under /proc): create and remove a probe.
        os.rmdir(tempfile.mkdtemp(dir=existing, prefix=".hwgen-probe-"))
    except OSError as error:
        raise UsageError(f"{option}: cannot create {path}: {existing}: "
                         f"{error.strerror or error}") from None


def _check_output_dirs(args):
    for name, option in _OUTPUT_DIRS.items():
        value = getattr(args, name, None)
        if value is None or (name == "reports" and args.command == "report"):
            continue
        if name == "cache" and value == str(DEFAULT_CACHE) and "HWGEN_CACHE" in os.environ:
            option = "HWGEN_CACHE"
        _check_output_dir(value, option)


# Seconds after which a Ctrl-C that Python dropped is raised again.
INTERRUPT_RETRY = 0.01


def _interrupt(signum, frame):
    """Raise KeyboardInterrupt for Ctrl-C (and for its retry, on SIGALRM)."""
    raise KeyboardInterrupt


@contextlib.contextmanager
def _interruptible():
    """Ctrl-C handled by :func:`_interrupt`. Python prints and drops an exception raised in
    a finalizer or a weakref callback (Amaranth checks for unused elaboratables in
    ``__del__``, importlib releases module locks in a callback): a Ctrl-C dropped there is not
    printed but raised again :data:`INTERRUPT_RETRY` seconds later. One that code catches on
    purpose (``hwgen dse`` finishing its running points) is left to it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, _interrupt)
                for number in (signal.SIGINT, signal.SIGALRM)}
    previous_hook = sys.unraisablehook

    def unraisable(info):
        if isinstance(info.exc_value, KeyboardInterrupt):
            signal.setitimer(signal.ITIMER_REAL, INTERRUPT_RETRY)
        else:
            previous_hook(info)
    sys.unraisablehook = unraisable
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for number, handler in previous.items():
            signal.signal(number, handler)
        sys.unraisablehook = previous_hook


def _interrupted(error):
    """Whether ``error`` is Ctrl-C's KeyboardInterrupt or came from it: Python wraps an exception
    raised while a class is created (``__set_name__``, as in an import) in a RuntimeError, and
    a cleanup that fails on the way out chains it as the context."""
    while error is not None:
        if isinstance(error, KeyboardInterrupt):
            return True
        error = error.__cause__ or error.__context__
    return False


def _failure_status(error):
    """Print the one-line message for ``error`` and return the exit status; raise it again if
    it is not one the command line reports."""
    if _interrupted(error):
        # CPython 3.11 remembers a KeyboardInterrupt that left an exec() of source text (as
        # dataclasses and namedtuple build their methods, in an import) and then, under
        # `python -m`, exits by SIGINT whatever main() returns; executing source text again
        # clears that.
        exec("")
        print("error: interrupted", file=sys.stderr)
        return 130
    if isinstance(error, (ConfigError, UsageError)):
        print(f"error: {error}", file=sys.stderr)
        return 2
    if isinstance(error, BrokenPipeError):
        # The reader went away (`hwgen list | head -1`): stop quietly, as a filter does.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    if isinstance(error, OSError):
        where = f"{error.filename}: " if error.filename else ""
        print(f"error: {where}{error.strerror or error}", file=sys.stderr)
        return 2
    if isinstance(error, (tools.ToolError, SimulationError)):
        print(f"error: {error}", file=sys.stderr)
        return 1
    raise error


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        with _interruptible():
            _check_output_dirs(args)
            return args.run(args) or 0
    except (Exception, KeyboardInterrupt) as error:
        return _failure_status(error)
