"""Errors that stop a run before training, with a message a user can act on.

Every error here is raised for bad *input* (a config key, a data file), never for a bug. The CLIs catch
``GradgroupError``, print its message without a traceback and exit with status 2, so a sweep job fails
fast and its metrics.json records the message. `require_extra` is the one check that a command's optional
dependencies (pyproject.toml's extras) are installed, with the one line that says which extra to install.
"""
import importlib.util


class GradgroupError(Exception):
    """Base class: the message says what is wrong, where (file or config key) and how to fix it."""


class ConfigError(GradgroupError, ValueError):
    """A config value is invalid (unknown name, group count that does not divide channels, ...)."""


class DataError(GradgroupError, ValueError):
    """The dataset root, an image or a label file is missing, unreadable or inconsistent."""


# The optional parts of an install (pyproject.toml's extras): extra -> the modules it brings. The core
# (training, tables, eval/predict on PyTorch) needs none of them.
EXTRAS = {
    "deploy": ("onnx", "onnxruntime", "onnxscript"),  # or [deploy-gpu], whose onnxruntime-gpu is `onnxruntime` too
    "search": ("optuna",),
    "cluster": ("hydra_plugins.hydra_submitit_launcher", "submitit"),
    "cityscapes": ("cityscapesscripts",),
}


class MissingExtra(GradgroupError, ImportError):
    """A command needs an optional part of the install that is not there; the message says which extra."""


def missing_modules(extra: str) -> list[str]:
    """The modules of `extra` that cannot be imported here (a broken install counts as missing)."""
    out = []
    for name in EXTRAS[extra]:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            out.append(name.split(".")[-1])
    return out


def require_extra(extra: str, what: str) -> None:
    """Raise MissingExtra, in one line, when `what` (a command or option) cannot run without `extra`."""
    missing = missing_modules(extra)
    if missing:
        alt = " (or gradgroup[deploy-gpu] on a CUDA host)" if extra == "deploy" else ""
        raise MissingExtra(f"{what} needs the [{extra}] extra ({', '.join(missing)} not installed): "
                           f"pip install 'gradgroup[{extra}]'{alt}")
