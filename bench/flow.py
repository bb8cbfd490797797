"""How fast and how exact the synthesis flow is: old against new scripts, flat against units.

    .venv/bin/python bench/flow.py [--large] [--only NAME ...] [--timeout S] [--old-timeout S]
                                   [--targets T ...] [--ways old|flat|units ...]

For every shipped config (``designs/*.yaml``), and with ``--large`` for the sizes a user
would build (ternary int8/fp16 cores at 1,024 MACs/cycle, bit-parallel and bit-serial dot
products at 64 lanes with 8-bit weights, modred ``lut``/``hybrid``/``barrett`` at 128 and
254 bits), each target is synthesized cold (no cached result, no cached unit) several ways:

* ``old``: the flow before bounded ABC and hierarchical synthesis. Generic: the DESIGN.md
  script (``synth -flatten``, ``abc -g cmos2``, both ABC passes with ABC's default, unbounded
  SAT sweep); iCE40/ECP5: flat ``synth_ice40``/``synth_ecp5``.
* ``flat``: the current script, flat (generic: both ABC passes bounded, ``abc/generic.abc``;
  iCE40/ECP5: unchanged, so the ``old`` job).
* ``units``: the current default, repeated units synthesized once each (only for designs
  that have repeated units; for the others it is the ``flat`` job).

Each run prints its wall time and CPU time (this process and Yosys): on a shared machine
the wall time depends on the load, the CPU time much less. The tables give the area of every
way and the ratios: new (units) / old, bounded / unbounded (both flat, so only the ABC bound
differs) and units / flat (only the hierarchy differs; the flow's claim is within 3 %).

Every measurement is kept in ``build/bench_flow/results.json`` under the design's digest and
the script, so an interrupted run resumes and a rerun prints the same cold figures without
synthesizing again (``--fresh`` measures again). A run that exceeds its time limit is shown
as "> N s".
"""
import argparse
import hashlib
import json
import os
import pathlib
import resource
import sys
import time

from hwgen.config import from_mapping, load
from hwgen.flow import hierarchy, synth, tools, verilog
from hwgen.flow.files import write_atomic

WORK = pathlib.Path("build/bench_flow")
DESIGNS = pathlib.Path(__file__).resolve().parent.parent / "designs"

# The generic script of DESIGN.md, before the ABC bound: ``synth`` runs ABC's default script
# once, ``abc -g cmos2`` again, both with the unbounded ``&fraig -x`` sweep.
OLD_GENERIC = [
    "synth -flatten -top {top}",
    "async2sync",
    "dfflegalize -cell $_DFF_P_ 01",
    "abc -g cmos2",
    "opt_clean",
    "delete t:$scopeinfo",
    "tee -q -o stat.json stat -json -tech cmos",
]

TERNARY_1024 = {"mu": 4, "n_tables": 8, "lanes": 32, "weight_format": "key"}
LARGE = [
    ("ternary_int8_1024", "ternary_lut", {**TERNARY_1024, "act_type": "int", "act_bits": 8}),
    ("ternary_fp16_1024", "ternary_lut", {**TERNARY_1024, "act_type": "fp16"}),
    ("bitparallel_dot64", "bitparallel_dot", {"lanes": 64, "act_bits": 8, "weight_bits": 8}),
    ("bitserial_dot64", "bitserial_dot", {"lanes": 64, "act_bits": 8, "weight_bits": 8}),
    *[(f"modred_{bits}_{method}", "modred",
       {"modulus": modulus, "method": method, **({} if method == "barrett" else {"k": 4})})
      for bits, modulus in ((128, "secp128r1_n"), (254, "bn254_r"))
      for method in ("lut", "hybrid", "barrett")],
]
AREA = {"generic": "ge", "ice40": "lut4", "ecp5": "lut4"}
WAYS = ("old", "flat", "units")


def log(message):
    print(message, file=sys.stderr, flush=True)


def cpu_seconds():
    own, children = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                         resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def commands(way, target, top):
    if way == "old":
        return ([line.format(top=top) for line in OLD_GENERIC] if target == "generic"
                else synth.script(target, top))
    return synth.script(target, top, hierarchy=way == "units")


def synthesize(design, emitted, target, way, timeout):
    """``{"area", "wall_s", "cpu_s"}`` of one cold run, or ``{"timeout"}``."""
    started, cpu = time.monotonic(), cpu_seconds()
    try:
        if way == "old":
            stat = synth.run_yosys(emitted.dir / "old" / target, [emitted.verilog], design.name,
                                   commands(way, target, design.name),
                                   timeout=timeout, what=target)["design"]
            cells = stat.get("num_cells_by_type", {})
            area = synth.area_of(target, cells, int(stat["estimated_num_transistors"])
                                 if target == "generic" else None)
        else:
            area = synth.run_synthesis(design, emitted, target, timeout=timeout,
                                       hierarchy=way == "units", unit_cache={})["area"]
    except tools.ToolTimeout:
        return {"timeout": timeout}
    return {"area": area, "wall_s": round(time.monotonic() - started, 1),
            "cpu_s": round(cpu_seconds() - cpu, 1)}


class Results:
    """Measurements by design digest, target, way and script, kept on disk."""

    def __init__(self, path, fresh):
        self.path = path
        self.data = {} if fresh or not path.exists() else json.loads(path.read_text())

    def key(self, design, target, way, verilog_text):
        script = "\n".join(commands(way, target, design.name))
        # The current flow's code is part of the key: the same script may be run differently.
        files = "".join([*synth.script_files(target).values(),
                         *(pathlib.Path(module.__file__).read_text()
                           for module in (synth, hierarchy))]) if way != "old" else ""
        digest = hashlib.sha256(f"{script}\n{files}\n{tools.versions()['yosys']}"
                                .encode()).hexdigest()[:16]
        # The Verilog, not only the config: a generator that changed gives another design.
        text = hashlib.sha256(verilog_text.encode()).hexdigest()[:16]
        return f"{design.name}/{text}/{target}/{way}/{digest}"

    def get(self, design, target, way, verilog_text, timeout, compute):
        key = self.key(design, target, way, verilog_text)
        known = self.data.get(key)
        # A run that timed out is tried again when it is given more time.
        if known is None or known.get("timeout", timeout) < timeout:
            known = self.data[key] = compute()
            write_atomic(self.path, json.dumps(self.data, indent=1, sort_keys=True))
        return known


def measure_design(design, results, timeout, old_timeout, targets=synth.TARGETS, only=WAYS):
    """The runs of one design; those not in ``targets`` and ``only`` come from the kept
    results when there are any."""
    emitted = verilog.emit(design, WORK / "designs" / design.digest)
    text = emitted.verilog.read_text()
    has_units = len(hierarchy.deduplicate(text, design.name).units()) > 1
    row = {"name": design.name, "units": has_units, "targets": {}}
    for target in synth.TARGETS:
        ways, wanted = {}, set(only)
        if "units" in wanted and not has_units:
            wanted.add("flat")
        if "flat" in wanted and target != "generic":
            wanted.add("old")
        for way in WAYS:
            if target not in targets or way not in wanted:
                ways[way] = results.data.get(results.key(design, target, way, text),
                                             {"missing": True})
                continue
            # Only the generic script changed; the FPGA scripts are the old ones.
            if (way == "units" and not has_units) or (way == "flat" and target != "generic"):
                ways[way] = ways["flat" if way == "units" else "old"]
                continue
            limit = old_timeout if way == "old" else timeout
            ways[way] = results.get(design, target, way, text, limit,
                                    lambda: synthesize(design, emitted, target, way, limit))
            log(f"{design.name} {target} {way}: {describe(ways[way], target)}")
        row["targets"][target] = ways
    return row


def describe(run, target):
    if "missing" in run:
        return "not run"
    if "timeout" in run:
        return f"> {run['timeout']:.0f} s"
    return f"{run['area'][AREA[target]]:,.0f} in {run['wall_s']:.0f} s ({run['cpu_s']:.0f} CPU-s)"


def area(run, target):
    return None if "timeout" in run or "missing" in run else run["area"][AREA[target]]


def ratio(new, old):
    return "" if new is None or old is None or not old else f"{new / old:.3f}"


def times(run):
    if "missing" in run:
        return "not run"
    return f"> {run['timeout']:.0f}" if "timeout" in run else f"{run['wall_s']:.0f} / {run['cpu_s']:.0f}"


def print_tables(rows):
    print(f"Cold synthesis, Yosys {tools.versions()['yosys']}; times are wall / CPU seconds "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores when printed).\n")
    print("| design | target | old s | old area | new s | new area | new/old |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        for target, ways in measured(row):
            old, new = ways["old"], ways["units"]
            unit = "GE" if target == "generic" else "LUT4"
            print(f"| {row['name']} | {target} | {times(old)} | {fmt(area(old, target))} | "
                  f"{times(new)} | {fmt(area(new, target))} {unit} | "
                  f"{ratio(area(new, target), area(old, target))} |")

    print("\n**Bounded against unbounded ABC** (generic, both flat: only the SAT-sweep bound "
          "differs; the flow's claim is within 1.5 % wherever the unbounded run finishes)\n")
    print("| design | unbounded GE | bounded GE | bounded/unbounded | unbounded s | bounded s |")
    print("|---|---|---|---|---|---|")
    worst = 0
    for row in rows:
        old, flat = row["targets"]["generic"]["old"], row["targets"]["generic"]["flat"]
        if "missing" in old and "missing" in flat:
            continue
        if area(old, "generic") and area(flat, "generic"):
            worst = max(worst, abs(area(flat, "generic") / area(old, "generic") - 1))
        print(f"| {row['name']} | {fmt(area(old, 'generic'))} | {fmt(area(flat, 'generic'))} | "
              f"{ratio(area(flat, 'generic'), area(old, 'generic'))} | {times(old)} | "
              f"{times(flat)} |")
    print(f"\nLargest bounded/unbounded difference: {100 * worst:.2f} %")

    print("\n**Hierarchical against flat** (the current script both ways: only the hierarchy "
          "differs; designs with repeated units)\n")
    print("| design | target | flat | units | units/flat | flat s | units s |")
    print("|---|---|---|---|---|---|---|")
    worst = 0
    for row in rows:
        if not row["units"]:
            continue
        for target, ways in measured(row):
            flat, units = area(ways["flat"], target), area(ways["units"], target)
            if flat and units:
                worst = max(worst, abs(units / flat - 1))
            print(f"| {row['name']} | {target} | {fmt(flat)} | {fmt(units)} | "
                  f"{ratio(units, flat)} | {times(ways['flat'])} | {times(ways['units'])} |")
    print(f"\nLargest units/flat difference: {100 * worst:.2f} %")

    print("\n**New flow, every target** (wall / CPU seconds of the default, cold)\n")
    print("| design | generic | ice40 | ecp5 | total wall s |")
    print("|---|---|---|---|---|")
    for row in rows:
        runs = [row["targets"][target]["units"] for target in synth.TARGETS]
        total = ("" if any("timeout" in run or "missing" in run for run in runs)
                 else f"{sum(run['wall_s'] for run in runs):.0f}")
        print(f"| {row['name']} | " + " | ".join(times(run) for run in runs) + f" | {total} |")


def measured(row):
    """``(target, ways)`` of the row's targets with at least one way run or kept."""
    return [(target, ways) for target, ways in row["targets"].items()
            if not all("missing" in run for run in ways.values())]


def fmt(value):
    return "" if value is None else f"{value:,.0f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true",
                        help="also the large configurations (hours of CPU with the old script)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="only these designs")
    parser.add_argument("--timeout", type=float, default=1800,
                        help="seconds per run of the current flow (default: 1800)")
    parser.add_argument("--old-timeout", type=float, default=900,
                        help="seconds per run of the old flow (default: 900)")
    parser.add_argument("--fresh", action="store_true", help="measure again, ignoring "
                        "the kept results")
    parser.add_argument("--targets", nargs="+", choices=synth.TARGETS, default=synth.TARGETS,
                        help="targets to run (the others are printed from the kept results)")
    parser.add_argument("--ways", nargs="+", choices=WAYS, default=WAYS,
                        help="ways to run (the others are printed from the kept results)")
    args = parser.parse_args()
    designs = [load(path) for path in sorted(DESIGNS.glob("*.yaml"))]
    if args.large:
        designs += [from_mapping({"name": name, "kind": kind, "params": params})
                    for name, kind, params in LARGE]
    if args.only:
        designs = [design for design in designs if design.name in args.only]
    results = Results(WORK / "results.json", args.fresh)
    rows = [measure_design(design, results, args.timeout, args.old_timeout, args.targets,
                           args.ways) for design in designs]
    print_tables(rows)


if __name__ == "__main__":
    main()
