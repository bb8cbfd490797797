"""Design-space exploration: sweeps over any kind, cached and resumable, on a local process
pool or a Dask cluster, with Pareto sets, plots and a report.

* :mod:`hwgen.dse.sweep`: the sweep file and its points;
* :mod:`hwgen.dse.expr`: the safe expressions of constraints and objectives;
* :mod:`hwgen.dse.evaluate`: one point in a worker (emit, synthesize, place and route, cache);
* :mod:`hwgen.dse.runner`: the executors (``concurrent.futures``; Dask's ``get_executor``);
* :mod:`hwgen.dse.exploration`: a whole sweep; :mod:`hwgen.dse.outputs`: CSV, JSON, plots, report;
* :mod:`hwgen.dse.pareto`: the non-dominated set; :mod:`hwgen.dse.calibrate`: refitting a
  family's cost model from a sweep.
"""
from hwgen.dse.exploration import Exploration, explore
from hwgen.dse.sweep import Sweep, load

__all__ = ["Sweep", "load", "explore", "Exploration"]
