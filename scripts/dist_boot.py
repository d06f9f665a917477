# faasctl's boot for dist/faasctl (scripts/dist.py puts it in place of pex's __main__.py).
#
# A pex in --venv mode installs itself once into PEX_ROOT and later runs that venv; its
# own boot code still loads from the zip on every start, compiled from source each time
# (zipimport ignores __pycache__), which cost ~130 ms here. This file does the warm case
# the way pex's --sh-boot script does, in Python because the file must start with
# `#!/usr/bin/env python3`. When the venv exists and no PEX_* variable asks for pex's own
# handling:
# - if this interpreter is the venv's own, faasctl runs in this process from the venv's
#   site-packages, with this interpreter's site-packages and PYTHONPATH taken off the
#   path (what the venv's `-I` would do), which saves a second interpreter start;
# - otherwise it execs the venv's console script.
# Anything else (first start, PEX_* set) runs pex's boot unchanged.
import os
import stat
import sys

VENV_RELPATH = "@VENV_RELPATH@"
PEX_ROOT = "@PEX_ROOT@"
PEX_OWN = ("PEX_IGNORE_RCFILES", "PEX_VENV", "PEX_PYTHON", "PEX_PYTHON_PATH", "PEX_PATH", "PEX_TOOLS",
           "PEX_INTERPRETER", "PEX_MODULE", "PEX_SCRIPT", "PEX_VERBOSE")


def _pex_root():
    """PEX_ROOT, else pex's default when its folder can be written, else a private one in /tmp.

    Without a writable root pex unpacks itself into a new temporary folder at every
    start (3.5 s here); a read-only home should not cost that. The /tmp folder is used
    only if it is ours and closed to others: anything else there could plant code.
    """
    if os.environ.get("PEX_ROOT"):
        return os.environ["PEX_ROOT"]
    default = os.path.expanduser(PEX_ROOT)
    probe = default
    while not os.path.exists(probe) and os.path.dirname(probe) != probe:
        probe = os.path.dirname(probe)
    if os.access(probe, os.W_OK):
        return default
    private = os.path.join(os.environ.get("TMPDIR") or "/tmp", "faasctl-pex-%d" % os.getuid())  # noqa: UP031
    try:
        os.mkdir(private, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return default
    info = os.lstat(private)
    if info.st_uid != os.getuid() or info.st_mode & 0o077 or not stat.S_ISDIR(info.st_mode):
        return default
    os.environ["PEX_ROOT"] = private  # for pex's own boot below, on a first start
    return private


def _warm_venv():
    if any(os.environ.get(name) for name in PEX_OWN):
        return None
    venv = os.path.join(os.path.expanduser(_pex_root()), VENV_RELPATH)
    ok = os.access(os.path.join(venv, "bin", "python"), os.X_OK)
    return venv if ok and os.path.isfile(os.path.join(venv, "bin", "faasctl")) else None


def _run_here(venv):
    import site

    purelib = os.path.join(venv, "lib", "python{}.{}".format(*sys.version_info[:2]), "site-packages")
    drop = set(site.getsitepackages()) | {site.getusersitepackages(), os.path.abspath(sys.argv[0])}
    drop.update(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)
    sys.path[:] = [purelib] + [p for p in sys.path if p and p not in drop]
    sys.executable = os.path.join(venv, "bin", "python")  # what subprocesses (the local agent) run
    from faasctl.cli.main import main

    main()


_venv = _warm_venv()
os.environ["FAASCTL_SINGLE_FILE"] = os.path.abspath(sys.argv[0])
if _venv:
    os.environ["FAASCTL_SINGLE_FILE_VENV"] = _venv
    _python = os.path.join(_venv, "bin", "python")
    if os.path.realpath(_python) == os.path.realpath(sys.executable) and not sys.flags.isolated:
        _run_here(_venv)
        sys.exit(0)
    _script = os.path.join(_venv, "bin", "faasctl")
    os.execv(_script, [_script] + sys.argv[1:])
_source = __loader__.get_data(os.path.join(os.path.dirname(__file__), "__pex_main__.py"))  # noqa: F821
exec(compile(_source, __file__, "exec"))
