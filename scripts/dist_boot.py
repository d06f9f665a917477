# faasctl's boot for dist/faasctl (scripts/dist.py puts it in place of pex's __main__.py).
#
# A pex in --venv mode installs itself once into PEX_ROOT and later runs that venv; its
# own boot code still loads from the zip on every start, compiled from source each time
# (zipimport ignores __pycache__), which cost ~130 ms here. This file does the warm case
# the way pex's --sh-boot script does, in Python because the file must start with
# `#!/usr/bin/env python3`: when the venv exists and no PEX_* variable asks for pex's own
# handling, exec the venv's console script. Anything else runs pex's boot unchanged.
import os
import sys

VENV_RELPATH = "@VENV_RELPATH@"
PEX_ROOT = "@PEX_ROOT@"
PEX_OWN = ("PEX_IGNORE_RCFILES", "PEX_VENV", "PEX_PYTHON", "PEX_PYTHON_PATH", "PEX_PATH", "PEX_TOOLS",
           "PEX_INTERPRETER", "PEX_MODULE", "PEX_SCRIPT", "PEX_VERBOSE")


def _warm_script():
    if any(os.environ.get(name) for name in PEX_OWN):
        return None
    root = os.path.expanduser(os.environ.get("PEX_ROOT") or PEX_ROOT)
    venv = os.path.join(root, VENV_RELPATH)
    script = os.path.join(venv, "bin", "faasctl")
    if os.access(os.path.join(venv, "bin", "python"), os.X_OK) and os.path.isfile(script):
        return script
    return None


_script = _warm_script()
if _script:
    os.environ["FAASCTL_SINGLE_FILE"] = os.path.abspath(sys.argv[0])
    os.execv(_script, [_script] + sys.argv[1:])
os.environ["FAASCTL_SINGLE_FILE"] = os.path.abspath(sys.argv[0])
_source = __loader__.get_data(os.path.join(os.path.dirname(__file__), "__pex_main__.py"))  # noqa: F821
exec(compile(_source, __file__, "exec"))
