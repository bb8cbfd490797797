"""A finished sweep's outputs: records, CSV/JSON, the Pareto set, plots and report.md.

``results.csv``, ``results.json`` and ``pareto.csv`` depend only on the points' results, so
an unchanged sweep gives byte-identical files; what differs from run to run (how many points
came from the cache, the time taken) is kept apart in ``results.json``'s ``run`` section.
"""
import csv
import io
import json
import math
import statistics

import yaml

from hwgen.config import ConfigError
from hwgen.cost.model import relative_errors
from hwgen.dse import models
from hwgen.dse.evaluate import performance, report_figures
from hwgen.dse.expr import Expression, ExpressionError
from hwgen.dse.pareto import pareto_front
from hwgen.dse.sweep import flatten
from hwgen.flow import synth, tools
from hwgen.flow.files import write_atomic

__all__ = ["records", "write", "namespace", "check_expressions", "describe_value",
           "TOP_DESIGNS"]

TOP_DESIGNS = 10
PLOTS = {
    "area_throughput": "area against throughput, Pareto front marked",
    "model_vs_measured": "cost model against synthesis, with the mean error band",
    "sensitivity": "each objective against each axis",
}


def describe_value(value):
    """An axis value as text: ``act_type=fp16 act_bits=16`` for a mapping."""
    if isinstance(value, dict):
        return " ".join(f"{key}={describe_value(item)}" for key, item in value.items())
    return json.dumps(value) if isinstance(value, bool) or value is None else str(value)


def namespace(record):
    """The names objectives and plot axes are evaluated over."""
    return {"kind": record["kind"], **flatten(record["params"]), **record["figures"],
            **{f"model.{metric}": value for metric, value in record["model"].items()}}


def _evaluate(expression, record):
    try:
        value = expression.evaluate(namespace(record))
    except ExpressionError as error:
        return None, error
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None, ExpressionError(f"is {value!r}, not a finite number")
    return value, None


def _stand_in(sweep, design):
    """A record shaped like a finished point of ``design``: its real parameters,
    performance figures and model predictions, and every figure the sweep's targets report
    as a distinct positive stand-in number (so that ``x / (y - 1)`` does not look like a
    division by zero)."""
    figures = performance(design.build().performance)
    predicted = models.predict(design.kind.name, design.params.to_dict())
    if sweep.model_only:
        return {"kind": design.kind.name, "params": design.params.to_dict(),
                "figures": {**figures, **predicted}, "model": {}}
    reported = {}
    for target in sweep.targets:
        report = {"area": dict.fromkeys(synth.area_of(target.name, {}, transistors=0)),
                  "workaround": "", "pnr": target.pnr and dict.fromkeys(
                      ("fmax_mhz", "meets_target", "multipliers_in_logic"))}
        reported.update(report_figures(target.name, report))
    stand_ins = {name: 1.5 + 0.25 * number for number, name in enumerate(reported)}
    return {"kind": design.kind.name, "params": design.params.to_dict(),
            "figures": {**figures, **stand_ins}, "model": predicted}


def check_expressions(sweep, points):
    """Raise :class:`~hwgen.config.ConfigError` for an objective or plot axis that cannot
    give a finite number on a stand-in point of each kind the sweep builds: a misspelt or
    missing figure, a division by zero, an exponent out of bounds, a string. Run before any
    point, so such a sweep stops with nothing computed and nothing written."""
    designs = {}
    for point in points:
        if point.design is not None:
            designs.setdefault(point.design.kind.name, point.design)
    checks = [(f"objectives[{number}].{objective.sense}", objective.expression)
              for number, objective in enumerate(sweep.objectives)]
    checks += [(f"plot.{key}", Expression(sweep.plot[key]))
               for key in ("area", "throughput") if key in sweep.plot]
    records = [_stand_in(sweep, design) for design in designs.values()]
    for path, expression in checks:
        errors = [error for _, error in (_evaluate(expression, record) for record in records)]
        if errors and all(error is not None for error in errors):
            raise ConfigError(f"{path}: {expression.text!r}: {errors[0]}", source=sweep.source)


def records(sweep, points, results):
    """``(rows, problems)``: one record per point (valid or not), with objectives and the
    Pareto flag, and a :class:`~hwgen.config.ConfigError` for each objective that could not
    be evaluated for any successful point (a misspelt figure name, say)."""
    rows = []
    for point in points:
        design, result = point.design, results.get(point.index)
        row = {
            "index": point.index,
            "name": f"{sweep.name}_{point.index}",
            "kind": design.kind.name if design else point.config.get("kind"),
            "axes": {label: describe_value(value) for label, value in point.axes.items()},
            "config": point.config,
            "params": design.params.to_dict() if design else {},
            "status": ("invalid" if design is None else result["status"] if result
                       else "pending"),
            "cached": bool(result and result["cached"]),
            "figures": result["figures"] if result else {},
            "model": {},
            "objectives": {},
            "pareto": False,
            "error": point.error if design is None else result and result["error"],
        }
        if design is not None and not sweep.model_only:
            row["model"] = models.predict(row["kind"], row["params"])
        rows.append(row)

    usable = [row for row in rows if row["status"] == "ok"]
    problems = {}
    for objective in sweep.objectives:
        for row in usable:
            value, error = _evaluate(objective.expression, row)
            row["objectives"][objective.name] = value
            if error is not None:
                problems.setdefault(objective, []).append(error)
    ranked = [row for row in usable if all(value is not None
                                           for value in row["objectives"].values())]
    if ranked:
        values = [[row["objectives"][o.name] for o in sweep.objectives] for row in ranked]
        for position in pareto_front(values, [o.sense for o in sweep.objectives]):
            ranked[position]["pareto"] = True
    unusable = [ConfigError(f"objectives[{number}]: {objective.expression.text!r}: "
                            f"{problems[objective][0]}", source=sweep.source)
                for number, objective in enumerate(sweep.objectives)
                if usable and len(problems.get(objective, [])) == len(usable)]
    return rows, unusable


def _columns(rows, key, prefix=""):
    return sorted({f"{prefix}{name}" for row in rows for name in row[key]})


def _csv(rows, sweep):
    axis_labels = sweep.axis_labels
    params = sorted({name for row in rows for name in flatten(row["params"])})
    figures = _columns(rows, "figures")
    model = _columns(rows, "model")
    header = (["index", "status", "pareto", "kind"] + axis_labels
              + [f"param.{name}" for name in params] + figures
              + [f"model.{name}" for name in model] + [o.name for o in sweep.objectives]
              + ["error"])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        flat = flatten(row["params"])
        writer.writerow(
            [row["index"], row["status"], int(row["pareto"]), row["kind"]]
            + [row["axes"].get(label, "") for label in axis_labels]
            + [_cell(flat.get(name)) for name in params]
            + [_cell(row["figures"].get(name)) for name in figures]
            + [_cell(row["model"].get(name)) for name in model]
            + [_cell(row["objectives"].get(o.name)) for o in sweep.objectives]
            + [" ".join((row["error"] or "").split())])
    return out.getvalue()


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return repr(round(value, 6))
    return value


def _evaluate_text(text, rows):
    expression = Expression(text)
    return [_evaluate(expression, row)[0] for row in rows]


_MODEL_ONLY = " (cost model only: nothing synthesized)"


def _axis_label(sweep, text):
    """An axis label: the objective's name where a plot axis is an objective, with the
    expression if it says more."""
    for objective in sweep.objectives:
        if objective.expression.text == text and objective.name != text:
            return f"{objective.name} ({text})" if len(text) <= 30 else objective.name
    return text


def _plot_area_throughput(path, sweep, rows):
    import matplotlib.pyplot as plt
    if "area" not in sweep.plot or "throughput" not in sweep.plot:
        return False  # no maximize (or minimize) objective and no plot axis for it
    usable = [row for row in rows if row["status"] == "ok"]
    area = _evaluate_text(sweep.plot["area"], usable)
    speed = _evaluate_text(sweep.plot["throughput"], usable)
    points = [(a, s, row) for a, s, row in zip(area, speed, usable)
              if a is not None and s is not None]
    if not points:
        return False
    fig, ax = plt.subplots(figsize=(7, 5), dpi=90)
    color = sweep.plot.get("color")

    def group(row):
        return f"{color}: {row['axes'].get(color, '–')}" if color else row["kind"]
    for name in dict.fromkeys(group(row) for _, _, row in points):
        chosen = [(a, s) for a, s, row in points if group(row) == name]
        ax.scatter(*zip(*chosen), s=18, alpha=0.6, label=name)
    front = pareto_front([(a, s) for a, s, _ in points], ["minimize", "maximize"])
    line = sorted((points[i][0], points[i][1]) for i in front)
    ax.plot(*zip(*line), "k-", drawstyle="steps-post", linewidth=1,
            label="front (area, throughput)")
    marked = [(a, s) for a, s, row in points if row["pareto"]]
    if marked:
        ax.scatter(*zip(*marked), s=60, facecolors="none", edgecolors="red",
                   label="Pareto set (all objectives)")
    ax.set_xlabel(_axis_label(sweep, sweep.plot["area"]))
    ax.set_ylabel(_axis_label(sweep, sweep.plot["throughput"]))
    if max(a for a, _, _ in points) > 10 * min(a for a, _, _ in points):
        ax.set_xscale("log")
        ax.tick_params(axis="x", which="both", labelrotation=30, labelsize=8)
    ax.set_title(f"{sweep.name}: {len(points)} points{_MODEL_ONLY if sweep.model_only else ''}")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return True


def model_errors(rows):
    """``{metric: [(measured, predicted), ...]}`` of the successful points."""
    pairs = {}
    for row in rows:
        if row["status"] != "ok":
            continue
        for metric, predicted in row["model"].items():
            measured = row["figures"].get(metric)
            if isinstance(measured, (int, float)) and measured > 0:
                pairs.setdefault(metric, []).append((measured, predicted))
    return pairs


def _plot_model(path, rows):
    import matplotlib.pyplot as plt
    pairs = model_errors(rows)
    if not pairs:
        return False
    fig, axes = plt.subplots(1, len(pairs), figsize=(4.5 * len(pairs), 4.2), dpi=90,
                             squeeze=False)
    for ax, (metric, values) in zip(axes[0], sorted(pairs.items())):
        measured, predicted = zip(*values)
        errors = relative_errors(predicted, measured)
        band = statistics.fmean(errors)
        low, high = min(measured + predicted), max(measured + predicted)
        line = [low, high]
        ax.fill_between(line, [v * (1 - band) for v in line], [v * (1 + band) for v in line],
                        color="grey", alpha=0.25, label=f"±{100 * band:.1f}% (mean error)")
        ax.plot(line, line, "k-", linewidth=0.8)
        ax.scatter(measured, predicted, s=16)
        if high > 10 * low:
            ax.set_xscale("log")
            ax.set_yscale("log")
        # Long tick labels (100,000 GE) overlap at the default density.
        ax.tick_params(axis="x", which="both", labelrotation=30, labelsize=8)
        ax.set_xlabel(f"{metric} measured")
        ax.set_ylabel(f"{metric} model")
        ax.set_title(f"{metric}: mean {100 * band:.1f}%, max {100 * max(errors):.1f}%",
                     fontsize=9)
        ax.legend(fontsize=8)
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return True


def _plot_sensitivity(path, sweep, rows):
    import matplotlib.pyplot as plt
    usable = [row for row in rows if row["status"] == "ok"]
    labels = [label for label in sweep.axis_labels
              if len({row["axes"].get(label) for row in usable}) > 1]
    if not usable or not labels:
        return False
    objectives = sweep.objectives
    fig, axes = plt.subplots(len(objectives), len(labels), dpi=90, squeeze=False,
                             figsize=(3.2 * len(labels), 2.8 * len(objectives)))
    for r, objective in enumerate(objectives):
        for c, label in enumerate(labels):
            ax = axes[r][c]
            values = []
            for row in usable:
                if row["objectives"].get(objective.name) is not None and label in row["axes"]:
                    values.append((row["axes"][label], row["objectives"][objective.name]))
            order = list(dict.fromkeys(value for value, _ in _axis_order(values)))
            xs = [order.index(value) for value, _ in values]
            ax.scatter(xs, [v for _, v in values], s=10, alpha=0.5)
            medians = [statistics.median(v for value, v in values if value == name)
                       for name in order]
            ax.plot(range(len(order)), medians, "r-o", markersize=3, linewidth=1)
            ax.set_xticks(range(len(order)), order, fontsize=7,
                          rotation=30 if max(map(len, order)) > 4 else 0)
            if c == 0:
                ax.set_ylabel(objective.name, fontsize=8)
            if r == len(objectives) - 1:
                ax.set_xlabel(label, fontsize=8)
            ax.grid(True, alpha=0.3)
    fig.suptitle(f"{sweep.name}: objectives by axis (red: median)"
                 f"{_MODEL_ONLY if sweep.model_only else ''}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return True


def _axis_order(values):
    """Axis values in numeric order where they are numbers, else as first seen."""
    def key(pair):
        try:
            return (0, float(pair[0]), "")
        except ValueError:
            return (1, 0.0, pair[0])
    return sorted(values, key=key) if values else []


def _config_yaml(row):
    config = {"name": row["name"], "kind": row["kind"], "params": row["config"].get("params", {})}
    return yaml.safe_dump(config, sort_keys=False).strip()


def _report(sweep, rows, run, plots):
    ok = [row for row in rows if row["status"] == "ok"]
    lines = [f"# Sweep {sweep.name}", "",
             f"Source: `{sweep.source}`. Targets: "
             + ", ".join(target.describe() for target in sweep.targets)
             + (". **Model only**: figures are cost-model predictions, nothing was synthesized."
                if sweep.model_only else "."),
             f"Tools: Yosys {tools.versions()['yosys']}, amaranth {tools.versions()['amaranth']}.",
             "",
             "| points | ok | failed | invalid | pending | excluded by constraints | from cache "
             "| computed | wall time |",
             "|---|---|---|---|---|---|---|---|---|",
             f"| {len(rows)} | {len(ok)} | {run['failed']} | {run['invalid']} | {run['pending']} "
             f"| {run['excluded']} | {run['cached']} | {run['computed']} "
             f"| {run['seconds']:.0f} s |", "",
             *([f"**Interrupted**: {run['pending']} points were not run; running the sweep "
                f"again resumes.", ""] if run["pending"] else []),
             "Objectives: " + "; ".join(f"{o.sense} `{o.expression.text}`"
                                       + (f" ({o.name})" if o.name != o.expression.text else "")
                                       for o in sweep.objectives) + ".", ""]
    for name, caption in PLOTS.items():
        if name in plots:
            lines += [f"![{caption}]({name}.png)", ""]
    pareto = [row for row in ok if row["pareto"]]
    first = sweep.objectives[0]
    pareto.sort(key=lambda row: row["objectives"][first.name],
                reverse=first.sense == "maximize")
    lines += [f"## Top designs ({min(TOP_DESIGNS, len(pareto))} of the {len(pareto)} "
              f"on the Pareto front, by {first.name})", ""]
    header = ["point", "kind"] + sweep.axis_labels + [o.name for o in sweep.objectives]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in pareto[:TOP_DESIGNS]:
        cells = ([row["name"], row["kind"]] + [row["axes"].get(label, "")
                                               for label in sweep.axis_labels]
                 + [_number(row["objectives"][o.name]) for o in sweep.objectives])
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for row in pareto[:TOP_DESIGNS]:
        lines += [f"### {row['name']}", "",
                  "Reproduce with `hwgen synth FILE.yaml` on:", "",
                  "```yaml", _config_yaml(row), "```", ""]
    pairs = model_errors(rows)
    if pairs:
        lines += ["## Cost model against synthesis", "",
                  "| metric | points | mean error | max error |", "|---|---|---|---|"]
        for metric, values in sorted(pairs.items()):
            errors = relative_errors([p for _, p in values], [m for m, _ in values])
            lines.append(f"| {metric} | {len(values)} | {100 * statistics.fmean(errors):.1f}% "
                         f"| {100 * max(errors):.1f}% |")
        lines.append("")
    failed = [row for row in rows if row["status"] == "failed"]
    if failed:
        lines += [f"## Failed points ({len(failed)})", ""]
        for row in failed:
            lines += [f"**{row['name']}** ({_axes_text(row)}):", "", "```",
                      row["error"].strip(), "```", ""]
    invalid = [row for row in rows if row["status"] == "invalid"]
    if invalid:
        lines += [f"## Invalid points ({len(invalid)}, skipped)", ""]
        lines += [f"- {row['name']} ({_axes_text(row)}): {row['error']}" for row in invalid]
        lines.append("")
    return "\n".join(lines)


def _axes_text(row):
    return ", ".join(f"{label}={value}" for label, value in row["axes"].items())


def _number(value):
    if value is None:
        return ""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.4g}"


def write(sweep, rows, run, out_dir):
    """Write every output into ``out_dir``; returns the paths written."""
    import matplotlib
    matplotlib.use("Agg")
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    document = {
        "sweep": sweep.name,
        "source": str(sweep.source),
        "model_only": sweep.model_only,
        "tools": tools.versions(),
        "targets": [target.describe() for target in sweep.targets],
        "objectives": [{"name": o.name, o.sense: o.expression.text} for o in sweep.objectives],
        "points": rows,
        "run": run,
    }
    paths.append(write_atomic(out_dir / "results.json", json.dumps(document, indent=1) + "\n"))
    paths.append(write_atomic(out_dir / "results.csv", _csv(rows, sweep)))
    paths.append(write_atomic(out_dir / "pareto.csv",
                              _csv([row for row in rows if row["pareto"]], sweep)))
    plots = set()
    drawers = {
        "area_throughput": lambda path: _plot_area_throughput(path, sweep, rows),
        "model_vs_measured": lambda path: _plot_model(path, rows),
        "sensitivity": lambda path: _plot_sensitivity(path, sweep, rows),
    }
    for name, draw in drawers.items():
        path = out_dir / f"{name}.png"
        path.unlink(missing_ok=True)
        if draw(path):
            plots.add(name)
            paths.append(path)
    paths.append(write_atomic(out_dir / "report.md", _report(sweep, rows, run, plots) + "\n"))
    return paths
