"""Errors that reach the user as one line (exit status 2), never as a traceback."""


class BenchInputError(Exception):
    """Bad input: a suite key, a model, a dataset file, a combination that cannot run here.

    The message must name what is wrong (file, key, value) and what was expected.
    """


class CellFailed(Exception):
    """A cell could not finish (NaN loss, time limit...); recorded as failed, the suite goes on."""


class VariantSkipped(Exception):
    """A compression or backend that does not apply to this cell; the variant is recorded as
    skipped with this message as its reason."""
