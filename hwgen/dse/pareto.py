"""The non-dominated (Pareto) set of points under several objectives."""
import numpy as np

__all__ = ["pareto_front"]


def pareto_front(values, senses):
    """Indices (ascending) of the rows of ``values`` that no other row dominates.

    ``values`` is an ``(n, m)`` array-like of objective values and ``senses`` says for each
    column whether it is to be ``"minimize"``\\ d or ``"maximize"``\\ d. Row ``a`` dominates
    row ``b`` when it is at least as good in every objective and better in one; rows with
    equal values do not dominate each other, so all of them stay.

    Rows are visited in lexicographic order of their (minimization-oriented) values: a row
    can only be dominated by one before it, and if it is dominated at all then some
    non-dominated row dominates it, so each row is checked against the front found so far.
    """
    costs = np.array(values, dtype=float)  # a copy: maximized columns are negated below
    if costs.ndim != 2 or costs.shape[1] != len(senses):
        raise ValueError(f"values must be an (n, {len(senses)}) array, not shape {costs.shape}")
    for column, sense in enumerate(senses):
        if sense not in ("minimize", "maximize"):
            raise ValueError(f"senses must be 'minimize' or 'maximize', not {sense!r}")
        if sense == "maximize":
            costs[:, column] = -costs[:, column]
    if np.isnan(costs).any():
        raise ValueError("values must not contain NaN")
    order = np.lexsort(costs.T[::-1])
    front = []
    for row in order:
        if front:
            better = costs[front]
            dominated = (np.all(better <= costs[row], axis=1)
                         & np.any(better < costs[row], axis=1)).any()
            if dominated:
                continue
        front.append(row)
    return sorted(int(row) for row in front)
