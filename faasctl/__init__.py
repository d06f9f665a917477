"""faasctl: self-hosted functions-as-a-service for a handful to a few hundred servers.

The package is layered: `cli`, `api` and `dashboard` are thin front ends over `core`,
which keeps its state in `state` and reaches nodes through `connectors` (to bootstrap
and push files) and the agent client (to run things). Heavy libraries are imported
inside the functions that need them so that `faasctl --help` starts in tens of ms.
"""

__version__ = "0.1.0"
