"""The API reference's cross-references: a docstring role naming something the reference does not
document fails the strict build (``nox -s docs``, which the test session requires, builds the
real site); shown on a small package with the site's own griffe extension (docs/_site.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mkdocstrings_handlers.python")

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = '''"""A package: :class:`Thing`, :meth:`Thing.go`, :class:`~pkg.Thing`,
:func:`json.loads`, :class:`ValueError` and the private module :mod:`._impl`."""

import json

__all__ = ["Thing"]


class Thing:
    """A thing{extra}."""

    def go(self) -> None:
        """Go; see :meth:`stop`."""

    def stop(self) -> None:
        """Stop."""


class _Hidden:
    """Not documented."""
'''


def _build(tmp_path: Path, extra: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    (tmp_path / "src" / "pkg" / "__init__.py").write_text(PACKAGE.format(extra=extra))
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("::: pkg\n")
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: t\nstrict: true\nplugins:\n- autorefs\n- mkdocstrings:\n"
        "    handlers:\n      python:\n        paths: [src]\n        options:\n"
        f"          extensions: ['{ROOT / 'docs' / '_site.py'}:RestRoles']\n"
    )
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_roles_become_links_to_what_the_reference_documents(tmp_path: Path) -> None:
    proc = _build(tmp_path, "")
    assert proc.returncode == 0, proc.stderr
    page = (tmp_path / "site" / "index.html").read_text()
    for target in ("pkg.Thing", "pkg.Thing.go", "pkg.Thing.stop"):
        assert f'href="#{target}"' in page, target
    for plain in ("json.loads", "ValueError", "._impl"):  # Python's own, or private: no link
        assert f"<code>{plain}</code>" in page, plain
    assert ":class:" not in page


def test_a_role_naming_what_the_reference_lacks_fails_the_build(tmp_path: Path) -> None:
    proc = _build(tmp_path, ", unlike :class:`Missing` and :class:`_Hidden`")
    assert proc.returncode != 0
    assert "Could not find cross-reference target 'Missing'" in proc.stderr
    assert "Could not find cross-reference target 'pkg._Hidden'" in proc.stderr
    assert "Aborted with 2 warnings in strict mode" in proc.stdout
