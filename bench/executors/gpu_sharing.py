"""Several cells on one GPU at once (the Ray executor): how big each cell's share is, and the
mark its record gets.

A suite asks for it with `[suite] cells_per_gpu = k` (each cell's Ray task asks for 1/k of a
GPU, so Ray runs k of them on each GPU at once) or `cells_per_gpu = "auto"`: k from the peak
CUDA memory that earlier records of the results folder measured (the largest reserved peak of
any cell trained on a GPU) against their GPU's memory, with headroom. A small model leaves most
of a large GPU idle; sharing it raises cells per hour, but a shared cell's time measures the
contention as much as the method, so its record is marked (`device_sharing`) and the report
keeps its training time out of every cost column and comparison (bench/record/rows.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from bench.record import CellRecord
from bench.record.cell import DeviceSharing

# what a cell may count on of its GPU's memory: the allocator's fragmentation and the CUDA
# context of each process (a few hundred MB, outside torch's reserved figure) need the rest
MEMORY_HEADROOM = 0.8
GIB = 1 << 30


@dataclass(frozen=True)
class GpuShare:
    """What each cell's Ray task asks of a GPU: `fraction` of one."""

    fraction: float
    basis: str  # why this share, in words (recorded and said when the run starts)

    @classmethod
    def of_cells(cls, cells_per_gpu: int, basis: str) -> "GpuShare":
        return cls(1 / cells_per_gpu, basis)

    @property
    def cells_per_gpu(self) -> int:
        """How many such cells Ray runs on one GPU at once."""
        return max(1, int(1 / self.fraction + 1e-9))

    def mark(self, resource: str = "GPU") -> DeviceSharing | None:
        """The record's mark; None where a cell has a GPU to itself."""
        if self.cells_per_gpu == 1:
            return None
        return DeviceSharing(resource, self.cells_per_gpu, round(self.fraction, 6), self.basis)


def share_from_records(records: list[CellRecord]) -> GpuShare:
    """k for `cells_per_gpu = "auto"`: as many cells as the GPU's memory holds at the largest
    peak any earlier cell reserved on it; 1 (said why) without such a record."""
    measured = [(r.training.cuda_max_reserved_bytes, gpu_memory_bytes(r), r.cell_id)
                for r in records if r.ok and r.training is not None
                and r.training.cuda_max_reserved_bytes and gpu_memory_bytes(r)]
    if not measured:
        return GpuShare.of_cells(1, "cells_per_gpu = 'auto': no earlier record of this results folder "
                           "measured a cell's peak GPU memory, so one cell per GPU")
    peak, memory, cell_id = max(measured)
    cells = max(1, int(memory * MEMORY_HEADROOM // peak))
    return GpuShare.of_cells(cells, f"cells_per_gpu = 'auto': {cells} cell(s) per GPU from the largest "
                           f"peak reserved by an earlier cell ({cell_id}: {peak / GIB:.2f} GiB) "
                           f"against {MEMORY_HEADROOM:.0%} of its GPU's {memory / GIB:.1f} GiB")


def gpu_memory_bytes(record: CellRecord) -> int | None:
    return (record.environment.hardware.get("gpu_memory_bytes")
            if record.environment else None)


def suite_share(cells_per_gpu: int | str | None, gpus_per_cell: float,
                records: list[CellRecord]) -> GpuShare | None:
    """The suite's GPU share per cell: from `cells_per_gpu` (k or "auto"), else its
    `gpus_per_cell` (a fraction shares too); None without a GPU."""
    if cells_per_gpu == "auto":
        return share_from_records(records)
    if cells_per_gpu is not None:
        return GpuShare.of_cells(int(cells_per_gpu), f"cells_per_gpu = {cells_per_gpu}")
    return GpuShare(gpus_per_cell, f"gpus_per_cell = {gpus_per_cell:g}") if gpus_per_cell else None
