"""faasctl-agent: the node side of faasctl.

Kept free of the operator's heavy stack (typer, sqlmodel, fabric, textual) so that it
installs on a bare node from a couple of wheels. It owns the wire protocol; the CLI
imports it from here so both ends always agree.
"""

__version__ = "0.1.0"
