"""The Pareto front of a trade-off: lower cost (latency, size) and higher score (F1) both win."""
from __future__ import annotations


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the (cost, score) points that no other point beats on both counts, cheapest
    first. Of two equal points the first is kept."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1], i))
    front, best_score = [], float("-inf")
    for i in order:
        if points[i][1] > best_score:
            front.append(i)
            best_score = points[i][1]
    return front
