"""Errors that reach the user as one line (exit status 2), never as a traceback."""


class BenchInputError(Exception):
    """Bad input: a suite key, a model, a dataset file, a combination that cannot run here.

    The message must name what is wrong (file, key, value) and what was expected.
    """


class SuiteProblems(BenchInputError):
    """Every problem found in one suite, so that a user fixes them all in one pass; each
    message is one line naming the file, the table and the key."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(dict.fromkeys(" ".join(p.split()) for p in problems))
        super().__init__("\n".join(self.problems))


def problems_of(error: BenchInputError) -> list[str]:
    return error.problems if isinstance(error, SuiteProblems) else [str(error)]


class CellFailed(Exception):
    """A cell could not finish (NaN loss, time limit...); recorded as failed, the suite goes on."""


class VariantSkipped(Exception):
    """A compression or backend that does not apply to this cell; the variant is recorded as
    skipped with this message as its reason."""


MESSAGE_LIMIT = 500  # characters of an error kept in a record or a one-line message


def first_line(error: BaseException) -> str:
    """The first line of the message (the reason, not the trace), or the error's type name
    when it has no message."""
    lines = str(error).strip().splitlines()
    return lines[0][:MESSAGE_LIMIT] if lines else type(error).__name__


def one_line(error: BaseException) -> str:
    """`Type: first line of the message`, for a record's reason."""
    return f"{type(error).__name__}: {first_line(error)}"
