"""Which deployed variant to ship, per target (latency, throughput, file size): of the reference
run's variants shown within the accuracy budget on validation (bench/report/deploy_budget.py),
the fastest, the busiest and the smallest, with their test figures. A variant whose verdict is
inconclusive is not chosen: the validation examples cannot show that it kept the accuracy."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from bench.record.rows import VariantRow
from bench.report.deploy_budget import Judged
from bench.stats.selection import WITHIN


@dataclass
class DeployChoice:
    fastest: VariantRow | None  # lowest p50 at the latency batch
    busiest: VariantRow | None  # most samples/s at the throughput batch
    smallest: VariantRow | None  # smallest file


def choose_variants(judged: list[Judged]) -> DeployChoice:
    """The first in record order wins a tie (the reference comes first)."""
    within = [j.row for j in judged if j.verdict == WITHIN]

    def lowest(value: Callable[[VariantRow], float | None]) -> VariantRow | None:
        return min((r for r in within if value(r) is not None), key=value, default=None)

    return DeployChoice(
        lowest(lambda r: r.p50_ms_latency_batch),
        lowest(lambda r: None if r.samples_per_s_throughput_batch is None
               else -r.samples_per_s_throughput_batch),
        lowest(lambda r: r.size_mb))
