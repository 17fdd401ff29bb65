"""What both Runs clients share that is not a retry: naming the run a call is about."""

from __future__ import annotations

from .errors import InvalidArgumentError
from .run import Run, RunStreamEvent

__all__ = ["run_id_of"]


def run_id_of(run: Run | RunStreamEvent | str) -> str:
    """The id of a run given as a :class:`Run`, a stream event carrying one, or an id."""
    if isinstance(run, Run):
        return run.id
    if isinstance(run, RunStreamEvent):
        if run.run is None:
            raise InvalidArgumentError("this stream event carries no run; pass the run or its id")
        return run.run.id
    if isinstance(run, str) and run:
        return run
    raise InvalidArgumentError(f"expected a Run or a run id, got {type(run).__name__}")
