"""Errors that stop a run before training, with a message a user can act on.

Every error here is raised for bad *input* (a config key, a data file), never for a bug. The CLIs catch
``GradgroupError``, print its message without a traceback and exit with status 2, so a sweep job fails
fast and its metrics.json records the message.
"""


class GradgroupError(Exception):
    """Base class: the message says what is wrong, where (file or config key) and how to fix it."""


class ConfigError(GradgroupError, ValueError):
    """A config value is invalid (unknown name, group count that does not divide channels, ...)."""


class DataError(GradgroupError, ValueError):
    """The dataset root, an image or a label file is missing, unreadable or inconsistent."""
