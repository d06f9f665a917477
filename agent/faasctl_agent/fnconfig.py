"""A function's configuration (environment and secret names): the rules both sides check.

Like `names` and `policy`, this is wire contract: faasctl refuses bad values before it
sends anything, and the agent refuses them again, with the same words. Stdlib only.
Secret names become file names under SECRETS_DIR in the container, so they follow the
one name rule of functions and nodes; values are bytes, bounded, and never checked for
content.
"""

from __future__ import annotations

import re
from typing import Any

from .names import NAME_RULE, valid_name

SECRETS_DIR = "/var/run/secrets/faasctl"  # the tmpfs the runner writes a function's secrets to
SECRET_MAX_BYTES = 64 * 1024
SECRETS_MAX = 16  # per function: SECRETS_MAX x SECRET_MAX_BYTES fits the tmpfs (executor.SECRETS_TMPFS)
ENV_MAX = 128  # variables per function
ENV_BYTES_MAX = 64 * 1024  # names and values of one function together
ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}", re.ASCII)
# Set by the platform for every function: overriding them would hide /deps or the runner.
ENV_RESERVED = frozenset({"PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "HOME"})


class ConfigError(ValueError):
    """A bad variable or secret name; `message` and `hint` are shown as they are."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def check_env(env: Any) -> dict[str, str]:
    if env is None:
        return {}
    if not isinstance(env, dict):
        raise ConfigError("the environment must be a mapping of names to values", "pass --env KEY=VALUE")
    size = 0
    for key, value in env.items():
        if not isinstance(key, str) or ENV_NAME_RE.fullmatch(key) is None:
            raise ConfigError(f"{key!r} is not an environment variable name",
                              "use letters, digits and '_', not starting with a digit (at most 128)")
        if key in ENV_RESERVED or key.startswith("FAASCTL_"):
            raise ConfigError(f"{key} is set by faasctl for every function and cannot be changed",
                              f"choose another name (reserved: {', '.join(sorted(ENV_RESERVED))}, FAASCTL_*)")
        if not isinstance(value, str) or "\x00" in value:
            raise ConfigError(f"the value of {key} must be text without NUL characters", "pass --env KEY=VALUE")
        size += len(key.encode()) + len(value.encode())
    if len(env) > ENV_MAX or size > ENV_BYTES_MAX:
        raise ConfigError(f"the environment has {len(env)} variables and {size} bytes; the limits are "
                          f"{ENV_MAX} and {ENV_BYTES_MAX // 1024} KiB",
                          "keep large or many values in a file of the function's archive")
    return {str(k): str(v) for k, v in env.items()}


def check_secret_name(name: Any) -> str:
    if not valid_name(name):
        raise ConfigError(f"{name!r} is not a valid secret name", f"use {NAME_RULE}")
    return str(name)


def check_secret_names(names: Any) -> list[str]:
    if names is None:
        return []
    if not isinstance(names, list):
        raise ConfigError("secrets must be a list of names", "pass --secret NAME")
    checked = [check_secret_name(n) for n in names]
    if len(set(checked)) > SECRETS_MAX:
        raise ConfigError(f"a function may use at most {SECRETS_MAX} secrets, not {len(set(checked))}",
                          "keep several values in one secret (a JSON or .env text)")
    return sorted(set(checked))


def check_secret_value(name: str, value: bytes) -> bytes:
    if not value:
        raise ConfigError(f"the value of secret {name} is empty", "give the value on stdin or with --from-file FILE")
    if len(value) > SECRET_MAX_BYTES:
        raise ConfigError(f"the value of secret {name} is {len(value)} bytes; the limit is "
                          f"{SECRET_MAX_BYTES // 1024} KiB", "keep large files in the function's archive")
    return value
