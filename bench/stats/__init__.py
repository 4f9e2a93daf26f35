"""Statistics over per-example predictions: bootstrap intervals, paired verdicts, choices made
on validation."""
