"""Build hook: a wheel of faasctl always carries the nodes' wheelhouse.

`pip install .` from a fresh checkout must give the same program as dist/faasctl, and
that includes the agent wheels `node add --host` sends, so the wheelhouse is made
(scripts/wheelhouse.py, with the index) when the checkout does not have it yet.
Everything else about the build is declared in pyproject.toml.
"""

import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildWithWheelhouse(build_py):
    def run(self) -> None:
        manifest = HERE / "faasctl" / "wheelhouse" / "manifest.json"
        script = HERE / "scripts" / "wheelhouse.py"
        if not manifest.is_file() and script.is_file():
            subprocess.check_call([sys.executable, str(script)])
        super().run()


setup(cmdclass={"build_py": BuildWithWheelhouse})
