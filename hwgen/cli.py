"""The ``hwgen`` command line (also ``python -m hwgen``).

Exit status: 0 on success, 2 for a bad config or argument (nothing is written), 1 when a tool
fails or a design disagrees with its golden model (the tool's own error text is shown).
"""
import argparse
import json
import sys
import textwrap

from hwgen import registry
from hwgen.config import ConfigError, load
from hwgen.flow import pnr, synth, tools, verilog
from hwgen.flow.sim import SimulationError

__all__ = ["main"]


class UsageError(Exception):
    """Arguments that parse but do not fit together."""


def _list(args):
    for kind in registry.kinds().values():
        print(f"{kind.name}: {kind.description}")
        for name, default, rule, doc in kind.params.describe():
            shown = "derived" if default is None else json.dumps(
                default.to_dict() if hasattr(default, "to_dict") else default)
            print(f"    {name:<16} default {shown:<10} {rule}")
            print(textwrap.indent(textwrap.fill(doc, 70), " " * 8))
        print()


def _verilog(args):
    design = load(args.config)
    emitted = verilog.emit(design, args.out)
    print(f"wrote {emitted.verilog}")
    print(f"wrote {emitted.manifest}")


def _sim(args):
    from hwgen.flow import sim
    design = load(args.config)
    stats = sim.run(design, args.out, count=args.vectors, seed=args.seed)
    full = stats["full_rate"]
    beats_in = sum(full["accepted"].values())
    print(f"{design.name}: PASS ({args.vectors} random vectors plus directed cases, seed "
          f"{args.seed}, random valid/ready gaps and full rate)")
    print(f"full rate: {beats_in} input beats in {full['cycles']} cycles "
          f"({full['cycles'] / max(beats_in, 1):.2f} cycles per input beat)")


def _synth(args):
    design = load(args.config)
    emitted = verilog.emit(design, args.out)
    reports = [synth.synthesize(design, emitted, target, reports_dir=args.reports)
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
                                           reports_dir=args.reports))
    print(synth.render_markdown(reports), end="")


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


def _parser():
    parser = argparse.ArgumentParser(prog="hwgen", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("list", help="kinds, their parameters and defaults").set_defaults(run=_list)

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
        if name == "pnr":
            sub.add_argument("--device", help="device within the target family "
                             + "; ".join(f"{t}: {', '.join(d)}" for t, d in pnr.DEVICES.items()))
            sub.add_argument("--seeds", type=int, default=1, help="placement seeds; Fmax is "
                             "their median (default: 1)")
            sub.add_argument("--freq", type=float, default=100.0,
                             help="target clock in MHz (default: 100)")

    report = command("report", _report, "print the Markdown table of existing reports")
    report.add_argument("--reports", default="reports", help="report directory (default: reports)")
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        args.run(args)
    except (ConfigError, UsageError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (tools.ToolError, SimulationError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
