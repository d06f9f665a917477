"""The command line: one typer sub-app per noun, composed in `main`.

Commands parse arguments, call `faasctl.core`, and print; each imports what it needs
inside its body so that startup stays fast.
"""
