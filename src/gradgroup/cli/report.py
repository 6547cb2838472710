"""One way for every console script to report a user error: `error: <message>` on stderr, exit 2.

A user error is bad input (a config key, a file, a name), never a bug: `GradgroupError` raised by the
library, or Hydra's own composition/validation errors (unknown key, wrong type, unknown choice), whose
messages already name the key. Bugs keep their traceback.
"""
from __future__ import annotations

import functools
import sys
from typing import Callable, NoReturn, TypeVar

from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException

from ..errors import GradgroupError

USER_ERRORS = (GradgroupError, HydraException, OmegaConfBaseException)
F = TypeVar("F", bound=Callable)


def fail(message: str, prog: str | None = None) -> NoReturn:
    """Print `message` as a user error and exit with status 2."""
    prefix = f"{prog}: error: " if prog else "error: "
    print(prefix + str(message).strip(), file=sys.stderr, flush=True)
    sys.exit(2)


def user_error_message(err: BaseException) -> str:
    """The message to show for a user error; Hydra's wrapped cause is unwrapped when it is ours."""
    cause = err.__cause__
    if isinstance(cause, GradgroupError):  # hydra.utils.instantiate wraps errors raised by targets
        return str(cause)
    if cause is not None and isinstance(err, HydraException):  # "Error merging override x=y" + why
        return f"{err}\n{cause}"
    return str(err)


def reports_user_errors(prog: str) -> Callable[[F], F]:
    """Decorate a CLI `main`: user errors become `fail(...)`, anything else propagates."""
    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except USER_ERRORS as err:
                fail(user_error_message(err), prog)
        return inner  # type: ignore[return-value]
    return wrap
