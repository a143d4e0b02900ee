"""The docs keep up with the code: README.md's module map lists every Python module, relative
links in README.md and docs/ resolve (anchors too), and no stale name is left."""

from __future__ import annotations

import re
import subprocess

import pytest

from include import settings

ROOT = settings.PROJECT_ROOT
README = (ROOT / "README.md").read_text()
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "bench" / "README.md"]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
# A package's heading in the map (**`include/landing/`** — …) and the rows of the table after it.
PACKAGE_HEADING = re.compile(r"^\*\*`([\w/]+/)`\*\*", re.M)
ROW = re.compile(r"^\| `([\w.]+)` \|", re.M)


def _module_map() -> dict[str, set[str]]:
    """Each package directory in README.md's map → the module names its table lists."""
    section = README.split("### Python modules", 1)[1].split("\n## ", 1)[0]
    headings = list(PACKAGE_HEADING.finditer(section))
    return {
        heading.group(1): set(ROW.findall(section[heading.end() : nxt.start() if nxt else len(section)]))
        for heading, nxt in zip(headings, [*headings[1:], None], strict=True)
    }


MODULES = sorted(path.relative_to(ROOT) for d in ("include", "local", "plugins") for path in (ROOT / d).rglob("*.py"))


@pytest.mark.parametrize("module", MODULES, ids=str)
def test_every_python_module_is_in_the_readmes_module_map(module):
    tables = _module_map()
    package = f"{module.parent.as_posix()}/"
    assert package in tables, f"README.md's module map has no table for {package}"
    if module.name != "__init__.py":  # the package's own docstring is its heading
        assert module.name in tables[package], f"README.md's module map has no row for {module}"


def test_the_module_map_lists_no_module_that_is_gone():
    for package, names in _module_map().items():
        for name in names:
            assert (ROOT / package / name).exists(), f"README.md's map lists {package}{name}"


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(path) -> set[str]:
    return {_slug(line.lstrip("#")) for line in path.read_text().splitlines() if line.startswith("#")}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(doc):
    for target in LINK.findall(doc.read_text()):
        if re.match(r"^[a-z]+:", target):
            continue  # http(s), mailto
        path, _, anchor = target.partition("#")
        resolved = (doc.parent / path).resolve() if path else doc
        assert resolved.exists(), f"{doc.relative_to(ROOT)}: {target} does not exist"
        assert resolved.is_relative_to(ROOT), f"{doc.relative_to(ROOT)}: {target} leaves the repository"
        if anchor and resolved.suffix == ".md":
            assert anchor in _anchors(resolved), f"{doc.relative_to(ROOT)}: no heading #{anchor} in {path or doc.name}"


def test_no_stale_names():
    stale = "share" + "d/" + r"\|" + "seed " + "00"  # spelled apart: this file must not match itself
    found = subprocess.run(["git", "grep", "-n", stale], cwd=ROOT, capture_output=True, text=True)
    assert found.returncode == 1 and found.stdout == "", found.stdout
