"""Build hook: compile the optional C accelerators when the wheel (or editable install) is built.

Each accelerator has a pure-Python twin that stays the reference, so a machine without a
C compiler (a Windows node, say) still installs and runs, only slower: a failed compile
is reported and skipped. ``AIGUPIAO_NO_EXTENSIONS=1`` skips them on purpose. The tests
check under ``CI=true`` that the accelerators were built.

An editable install imports from ``src/``, so there the module is compiled next to its
source (the ``*.so`` files are gitignored); a regular wheel gets it force-included.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

EXTENSIONS = {
    "aigupiao.market.feeds._chagubang_fast": "src/aigupiao/market/feeds/_chagubang_fast.c",
}


def _compiler() -> list[str] | None:
    """The command that compiles and links one C file into an extension module."""
    ldshared = sysconfig.get_config_var("LDSHARED")
    if not ldshared:  # Windows builds of CPython have no such variable
        return None
    return [*shlex.split(ldshared), "-O2", "-fPIC", f"-I{sysconfig.get_paths()['include']}"]


def compile_extension(source: Path, target: Path) -> str | None:
    """Compile ``source`` into ``target``; the reason it could not, or None."""
    command = _compiler()
    if command is None:
        return "no C compiler configured for this Python"
    try:
        done = subprocess.run(
            [*command, str(source), "-o", str(target)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except OSError as exc:
        return str(exc)
    if done.returncode != 0:
        return (done.stderr or done.stdout).strip()[-2000:]
    return None


class CustomBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if os.environ.get("AIGUPIAO_NO_EXTENSIONS"):
            return
        suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
        built = False
        for module, relative in EXTENSIONS.items():
            source = Path(self.root) / relative
            name = module.rsplit(".", 1)[1] + suffix
            if version == "editable":
                target = source.with_name(name)
            else:
                target = Path(tempfile.mkdtemp(prefix="aigupiao-ext-")) / name
            problem = compile_extension(source, target)
            if problem is not None:
                print(
                    f"aigupiao: {module} not compiled, the pure-Python parser will be used: "
                    f"{problem}",
                    file=sys.stderr,
                )
                continue
            built = True
            if version != "editable":
                build_data["force_include"][str(target)] = module.replace(".", "/") + suffix
        if built:
            build_data["pure_python"] = False
            build_data["infer_tag"] = True
