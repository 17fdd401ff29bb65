"""Every workflow of runbind is a nox session; CI calls the same sessions (docs/maintainers.md)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

import nox

ROOT = Path(__file__).parent
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["demo"]

# The determinism rules of the pipeline apply to every session that generates.
ENV = {"PYTHONHASHSEED": "0", "TZ": "UTC", "LC_ALL": "C", "SOURCE_DATE_EPOCH": "0"}


EXTRAS = {"emulator", "yandex-sa"}
"""The published extras; every other name given to :func:`_install` is a dependency group."""
GROUP_EXTRAS = {"dev": ("emulator", "yandex-sa")}
"""Extras a dependency group needs with it (a group cannot name the project's own extras)."""


def _install(session: nox.Session, extras: str) -> None:
    """Install the project editable with ``extras`` (published extras and PEP 735 dependency
    groups, comma-separated) unless this venv already has this pyproject."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    marker = Path(session.virtualenv.location) / ".runbind-installed"
    if marker.is_file() and marker.read_text() == digest:
        return
    names = [name for name in extras.split(",") if name]
    groups = [name for name in names if name not in EXTRAS]
    wanted = {n for n in names if n in EXTRAS}
    wanted |= {extra for group in groups for extra in GROUP_EXTRAS.get(group, ())}
    args = ["-e", f".[{','.join(sorted(wanted))}]" if wanted else "."]
    for group in groups:
        args += ["--group", group]
    session.install(*args)
    marker.write_text(digest)


def _generate(session: nox.Session, *args: str) -> None:
    session.run("python", "-m", "codegen", "generate", *args, env=ENV)


@nox.session
def sync(session: nox.Session) -> None:
    """Materialise the locked upstream specs into specs/upstream/ and verify every sha256."""
    _install(session, "codegen")
    session.run("python", "-m", "codegen", "sync", env=ENV)


@nox.session
def generate(session: nox.Session) -> None:
    """Sync, regenerate generated/ (a no-op when nothing changed), summarise."""
    _install(session, "codegen")
    _generate(session, *session.posargs)


@nox.session
def check(session: nox.Session) -> None:
    """Regenerate twice in temp folders: deterministic, surface index and generated/ current."""
    _install(session, "codegen")
    session.run("python", "-m", "codegen", "check", env=ENV)


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff lint and format check (pinned ruff)."""
    _install(session, "dev")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on codegen/, src/, tests/, benchmarks/, examples/, docs/ and noxfile; relaxed
    on generated/."""
    _install(session, "dev")
    _generate(session)
    # One run: strict on our code, relaxed per pyproject's override on runbind_generated.
    paths = ["codegen", "src", "tests", "noxfile.py", "benchmarks", "examples", "docs"]
    session.run("mypy", *paths, "generated/runbind_generated")


@nox.session(requires=["lint", "typecheck", "verifytypes", "docs"])
def tests(session: nox.Session) -> None:
    """Lint, typecheck, verifytypes and the docs build first (required sessions), then generate
    and run pytest under coverage.py: the branch coverage of src/ and codegen/ is printed and held
    to its floor. The packaging tests run in ``tests_highest`` (:data:`PACKAGING_TESTS`)."""
    _install(session, "dev")
    _generate(session)
    env = {**_test_env(session), "RUNBIND_PYRIGHT": _pyright(session)}
    session.run("coverage", "erase")
    _pytest(session, ["coverage", "run", "-m", "pytest", *_ignore(*PACKAGING_TESTS)], env)
    session.run("coverage", "combine", "--quiet")
    session.run("coverage", "report")


PREVIOUS_TESTS = (
    "tests/core",
    "tests/yandex/test_adapter.py",
    "tests/yandex/test_wire.py",
    "tests/yandex/test_runs.py",
    "tests/openai/test_adapter.py",
    "tests/openai/test_responses_adapter.py",
    "tests/openai/test_runs.py",
    "tests/emulator",
)
"""The layer's tests that ``tests_previous`` runs at older specs: the core, the adapters, both
clients' runs and the emulator (not the codegen, fuzz, load and packaging tests)."""
PREVIOUS_BUILDS = {"both": (), "cloudapi": ("cloudapi",), "openai-openapi": ("openai-openapi",)}
"""Which sources each build moves to the mirror's "previous" commit (``()``: every one)."""


@nox.session
def tests_previous(session: nox.Session) -> None:
    """The layer's tests against code generated at the mirror's "previous" commits.

    ``nox -s tests_previous -- [both|cloudapi|openai-openapi ...] [-- pytest args]``: each build
    (default ``both``: cloudapi and openai-openapi both at their previous commits) is generated
    into a temp folder (the project's lock and generated/ stay as they are) and put first on
    PYTHONPATH for :data:`PREVIOUS_TESTS`. A test needing a generated name the build lacks is
    skipped with that name and commit as the reason; everything else must pass.
    """
    _install(session, "dev")
    args = list(session.posargs)
    cut = args.index("--") if "--" in args else len(args)
    builds, pytest_args = args[:cut] or ["both"], args[cut + 1 :]
    unknown = [b for b in builds if b not in PREVIOUS_BUILDS]
    if unknown:
        session.error(f"unknown build {unknown[0]!r} (one of {', '.join(PREVIOUS_BUILDS)})")
    tmp = Path(session.create_tmp()) / "previous"
    for name in builds:
        dest = tmp / name
        session.run("python", "-m", "tests._previous", str(dest), *PREVIOUS_BUILDS[name], env=ENV)
        env = {
            **ENV,
            "PYTHONPATH": str(dest / "generated"),
            "RUNBIND_SPECS_CLOUDAPI": str(dest / "specs" / "upstream" / "cloudapi"),
        }
        parallel = ["-n", "auto", "--maxprocesses", "4", "--dist", "worksteal", "-m", "not serial"]
        for phase in (parallel, ["-m", "serial"]):
            session.run(
                "pytest",
                "-rs",
                *phase,
                *PREVIOUS_TESTS,
                *pytest_args,
                env=env,
                success_codes=[0, 5],
            )


def _test_env(session: nox.Session) -> dict[str, str]:
    """What every run of the suite gives the tests: the determinism rules, buf, and the venv of
    the official Yandex clients."""
    official = _extra_venv(session, "official-yandex")
    return {**ENV, "RUNBIND_BUF": _buf(session), "RUNBIND_OFFICIAL_YANDEX_PYTHON": official}


def _pytest(session: nox.Session, pytest: list[str], env: dict[str, str]) -> None:
    """The suite in two phases: on every core (up to four; ``-n 0`` in the arguments: one
    process), then the tests whose bounds are wall-clock times alone. Exit code 5: a selection
    with no test in one phase."""
    parallel = ["-n", "auto", "--maxprocesses", "4", "--dist", "worksteal", "-m", "not serial"]
    parallel += session.posargs
    for args in (parallel, ["-m", "serial", *session.posargs]):
        session.run(*pytest, *args, env=env, success_codes=[0, 5])


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site (mkdocs.yml) in strict mode, into the git-ignored site/.

    The README, the guides in docs/, ARCHITECTURE, SECURITY and CHANGELOG, and the API reference
    from the docstrings; any broken link, anchor or cross-reference fails the build.
    """
    _install(session, "docs")
    session.run("mkdocs", "build", "--strict", "--site-dir", str(ROOT / "site"), env=ENV)


VERIFYTYPES_MIN = 0.95
"""The lowest type-completeness score of ``pyright --verifytypes runbind`` that passes."""


@nox.session
def verifytypes(session: nox.Session) -> None:
    """``pyright --verifytypes runbind --ignoreexternal``: print the score, fail below 95%.

    The score is the share of runbind's public symbols whose types pyright knows in full.
    """
    _install(session, "dev")
    _generate(session)
    pyright = _pyright(session)
    args = [pyright, "--verifytypes", "runbind", "--ignoreexternal"]
    # pyright exits 1 whenever any symbol is incomplete; the score decides here.
    codes = [0, 1]
    out = session.run(
        *args, "--outputjson", silent=True, stderr=None, success_codes=codes, external=True
    )
    if out is None:  # --install-only: nothing ran
        return
    report = json.loads(str(out))["typeCompleteness"]
    for symbol in report["symbols"]:
        if symbol["isExported"] and not symbol["isTypeKnown"]:
            session.log(f"not fully typed: {symbol['name']}")
    score = report["completenessScore"]
    print(f"verifytypes: type completeness of runbind {score:.1%} (minimum {VERIFYTYPES_MIN:.0%})")
    if score < VERIFYTYPES_MIN:
        session.run(*args, success_codes=codes, external=True)  # the readable report
        session.error(f"type completeness {score:.1%} is below {VERIFYTYPES_MIN:.0%}")


@nox.session
def bench(session: nox.Session) -> None:
    """Ours and the anchors side by side in one run: prints the ratios, writes .bench/results.json.

    ``nox -s bench -- --quick`` is a short run; other options: ``python -m benchmarks --help``.
    """
    _install(session, "dev,bench")
    _generate(session)
    env = {**ENV, "RUNBIND_BENCH_YANDEX_SDK_PYTHON": _extra_venv(session, "bench-yandex-sdk")}
    session.run("python", "-m", "benchmarks", *session.posargs, env=env)


@nox.session(venv_backend="none")
def bench_table(session: nox.Session) -> None:
    """Rewrite the performance tables of README.md and docs/performance.md from
    .bench/results.json (``-- --check`` only compares); standard library only, no venv."""
    session.run(sys.executable, "-m", "benchmarks.table", *session.posargs, external=True)


ATHERIS = "atheris==3.0.0"
"""The coverage-guided fuzzer of ``nox -s fuzz`` (3.0.0: the newest with CPython 3.11 wheels)."""
FUZZ_TARGETS = ("proto", "openai_json", "sse")


@nox.session
def fuzz(session: nox.Session) -> None:
    """Coverage-guided fuzzing (atheris) of the decoders, starting from tests/fuzz/corpus.

    ``nox -s fuzz -- sse 600`` fuzzes one target (``proto``, ``openai_json``, ``sse``; all by
    default) for that many seconds each (default 60). New inputs and crashes are written to
    .nox/fuzz/tmp/TARGET/; a crash fails the session (see tests/fuzz/_atheris.py).
    """
    _install(session, "dev")
    _generate(session)
    session.install(ATHERIS)
    targets = [a for a in session.posargs if a in FUZZ_TARGETS] or list(FUZZ_TARGETS)
    seconds = next((a for a in session.posargs if a.isdigit()), "60")
    for target in targets:
        out = Path(session.create_tmp()) / target
        (out / "new").mkdir(parents=True, exist_ok=True)
        session.run(
            "python",
            "-m",
            "tests.fuzz._atheris",
            target,
            f"-max_total_time={seconds}",
            "-timeout=10",  # one input taking longer is a hang: a crash
            "-rss_limit_mb=2048",
            f"-artifact_prefix={out}/",
            str(out / "new"),
            str(ROOT / "tests" / "fuzz" / "corpus" / target),
            env=ENV,
        )


def _extra_venv(session: nox.Session, extra: str) -> str:
    """Python of a venv holding pyproject's dependency group ``extra`` (the pinned Yandex SDK
    and its clients).

    A venv of its own, inside the session's: the SDK needs protobuf<7, which the codegen pins
    cannot share. Rebuilt only when the extra's pins change.
    """
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pins = pyproject["dependency-groups"][extra]
    venv = Path(session.virtualenv.location) / (
        "yandex-sdk" if extra == "bench-yandex-sdk" else extra
    )
    python = venv / "bin" / "python"
    marker = venv / ".runbind-installed"
    if not (marker.is_file() and marker.read_text() == " ".join(pins)):
        session.run("python", "-m", "virtualenv", "--clear", "--quiet", str(venv))
        session.run(str(python), "-m", "pip", "install", "--quiet", *pins, external=True)
        marker.write_text(" ".join(pins))
    return str(python)


BUF_VERSION = "1.75.0"


def _buf(session: nox.Session) -> str:
    """The pinned buf binary (npm package @bufbuild/buf), installed into this session's venv."""
    tools = Path(session.virtualenv.location) / "buf"
    buf = tools / "node_modules" / ".bin" / "buf"
    if not buf.is_file():
        npm = ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(tools)]
        session.run(*npm, f"@bufbuild/buf@{BUF_VERSION}", external=True)
    return str(buf)


PYRIGHT_VERSION = "1.1.414"


def _pyright(session: nox.Session) -> str:
    """The pinned pyright (npm package ``pyright``), installed into this session's venv; it
    analyses with the venv's Python, which must be first on PATH (as in a nox session)."""
    tools = Path(session.virtualenv.location) / "pyright"
    pyright = tools / "node_modules" / ".bin" / "pyright"
    if not pyright.is_file():
        npm = ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(tools)]
        session.run(*npm, f"pyright@{PYRIGHT_VERSION}", external=True)
    return str(pyright)


@nox.session
def bump(session: nox.Session) -> None:
    """Move one upstream to a commit: relock, regenerate, write the change report and CHANGELOG.

    ``nox -s bump -- cloudapi <commit> [YYYY-MM-DD] [--allow-broken-layer]``; buf (from the npm
    registry, pinned) adds its protobuf breaking rules to the report. The bump runs runbind's
    layer tests on the new code (codegen/layer.py), so the session installs the dev group.
    """
    _install(session, "dev")  # the bump runs runbind's layer tests (codegen/layer.py)
    buf = _buf(session)
    session.run("python", "-m", "codegen", "bump", *session.posargs, "--buf", buf, env=ENV)


@nox.session
def demo(session: nox.Session) -> None:
    """The main job: generate (a no-op when current), then one run per provider on the emulator."""
    _install(session, "codegen,emulator")
    _generate(session)
    session.run("python", "-m", "runbind", "demo", env=ENV)


@nox.session
def emulator(session: nox.Session) -> None:
    """Serve the emulator on 127.0.0.1 (gRPC 50051, HTTP 8080) until interrupted."""
    _install(session, "codegen,emulator")
    _generate(session)
    session.run("python", "-m", "runbind", "emulator", *session.posargs, env=ENV)


@nox.session
def build(session: nox.Session) -> None:
    """Build the wheel and sdist into dist/, generated code included (generate runs first)."""
    _install(session, "codegen")
    _generate(session)
    session.install("build==1.6.1")
    session.run("python", "-m", "build", "--outdir", "dist", env={"SOURCE_DATE_EPOCH": "0"})


@nox.session
def release(session: nox.Session) -> None:
    """Cut a release: ``nox -s release -- X.Y.Z`` (see codegen/release.py and docs/maintainers.md).

    Refuses a dirty tree, a stale surface or an unaccepted break; then CHANGELOG section naming
    the upstream commits, version bump, new baseline, commit, tag ``vX.Y.Z``, and wheel and
    sdist built twice (byte-identical) into dist/. Upload: ``twine upload dist/*``.
    """
    if len(session.posargs) != 1:
        session.error("usage: nox -s release -- X.Y.Z")
    _install(session, "codegen")
    session.install("build==1.6.1")
    _generate(session)
    session.run("python", "-m", "codegen", "release", session.posargs[0], env=ENV)


PYTHONS = ("3.11", "3.12", "3.13")
"""Every CPython 3.11+ on the machine, each run by a session below; the classifiers name exactly
these (tests/test_wheel.py)."""


def _runs(python: str) -> bool:
    """Whether ``python`` is on PATH and starts: a pyenv shim is on PATH for every installed
    version but starts only the active ones (``PYENV_VERSION``, ``.python-version``)."""
    found = shutil.which(python)
    if found is None:
        return False
    ask = [found, "-c", "pass"]
    return subprocess.run(ask, capture_output=True, check=False).returncode == 0


def _pyenv_root() -> Path:
    if "PYENV_ROOT" in os.environ:
        return Path(os.environ["PYENV_ROOT"])
    pyenv = shutil.which("pyenv")
    if pyenv is not None:
        ask = [pyenv, "root"]
        answer = subprocess.run(ask, capture_output=True, text=True, check=False).stdout.strip()
        if answer:
            return Path(answer)
    return Path.home() / ".pyenv"


def _find_pythons() -> None:
    """Put every Python in PYTHONS on PATH as ``python3.X``, whatever pyenv has active: one that
    does not start is linked from pyenv's newest install of that minor version into
    ``.nox/pythons``, which goes first on PATH. Nothing is downloaded (uv would try, and fail
    offline); a Python the machine lacks stays missing, and CI's
    ``--error-on-missing-interpreters`` fails on it."""
    os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")
    links = ROOT / ".nox" / "pythons"
    # pyenv's installs, and the folder nox's own Python was installed in (pyenv's, found even
    # when pyenv is not on PATH)
    places = {_pyenv_root() / "versions", Path(sys.base_prefix).resolve().parent}
    folders = [v for place in places if place.is_dir() for v in place.iterdir()]
    for minor in PYTHONS:
        name = f"python{minor}"
        if (links / name).is_symlink() and not (links / name).exists():
            (links / name).unlink()  # the install it named is gone
        if (links / name).exists() or _runs(name):
            continue
        pattern = re.escape(minor) + r"\.\d+"
        found = [v for v in folders if re.fullmatch(pattern, v.name)]
        installs = [v / "bin" / name for v in found if (v / "bin" / name).is_file()]
        if installs:
            links.mkdir(parents=True, exist_ok=True)
            newest = max(installs, key=lambda exe: int(exe.parent.parent.name.rsplit(".")[-1]))
            (links / name).symlink_to(newest)
    if links.is_dir():
        os.environ["PATH"] = os.pathsep.join((str(links), os.environ.get("PATH", "")))


_find_pythons()


PACKAGING_TESTS = ("tests/test_install.py", "tests/test_publish.py", "tests/test_wheel.py")
"""Builds of the wheel and sdist and installs into clean venvs (from a checkout, a git tag, the
sdist, a package index): minutes of pip that measure no line of src/ or codegen/. ``tests``
leaves them to ``tests_highest``, whose question they share: a clean venv resolves the newest
versions the ranges allow."""

RANGES_SKIP = (
    "tests/codegen/test_bump.py",
    "tests/codegen/test_eol.py",
    "tests/codegen/test_layer.py",
    "tests/codegen/test_release.py",
    "tests/test_bench.py",
)
"""What the range sessions leave to ``tests``: the bump and release machinery (a maintainer's
tool, on the generators the dev group pins the same at both ends) and the bench harness.
Generation itself still runs on each range session's Python (``_generate``)."""


def _check_python(session: nox.Session) -> None:
    """Fail a session whose venv is not on the Python it names: a venv reused from an earlier
    run (``reuse_venv``) keeps the interpreter it was made with, whatever the session asks."""
    wanted = str(session.python)
    ask = "import sys; print('%d.%d' % sys.version_info[:2])"
    have = str(session.run("python", "-c", ask, silent=True)).strip()
    if have != wanted:
        location = session.virtualenv.location
        session.error(f"{location} is on Python {have}, not {wanted}: delete it and run again")


def _ignore(*paths: str) -> list[str]:
    return [f"--ignore={path}" for path in paths]


def _ranges(session: nox.Session, resolution: str, skip: Sequence[str]) -> None:
    """The suite at one end of the dependency ranges: ``resolution`` is uv's ``lowest-direct``
    or ``highest``. A runtime dependency the dev group pins exactly (httpx) is overridden by the
    range pyproject declares, so that the test pin does not hold it; the others resolve with
    every tool's own bounds (overriding all of them forced typing_extensions 4.12.0 on a pytest
    plugin that needs a newer one). The resolved versions are printed first."""
    _check_python(session)
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    ranges = [*pyproject["project"]["dependencies"]]
    for extra in sorted(EXTRAS):
        ranges += pyproject["project"]["optional-dependencies"][extra]
    pinned = {
        re.split(r"==", spec)[0]
        for spec in pyproject["dependency-groups"]["dev"]
        if isinstance(spec, str) and "==" in spec
    }
    # Not session.create_tmp(): it points TMPDIR into the working copy, where the install tests
    # then find their venvs (tests/test_wheel.py asserts that an import comes from outside it).
    overrides = Path(session.virtualenv.location) / "ranges.txt"
    loose = [spec for spec in ranges if re.split(r"[\[<>=!~ ;]", spec, maxsplit=1)[0] in pinned]
    overrides.write_text("\n".join(loose) + "\n", encoding="utf-8")
    at = ["--resolution", resolution, "--override", str(overrides)]
    session.install(*at, "-e", f".[{','.join(sorted(EXTRAS))}]", "--group", "dev")
    names = ", ".join(repr(re.split(r"[\[<>=!~ ;]", spec, maxsplit=1)[0]) for spec in ranges)
    show = f"import importlib.metadata as m; print({{n: m.version(n) for n in ({names},)}})"
    session.run("python", "-c", show)
    _generate(session)
    _pytest(session, ["pytest", *_ignore(*skip)], _test_env(session))


@nox.session(venv_backend="uv", python=PYTHONS[1])
def tests_lowest(session: nox.Session) -> None:
    """The suite with every direct dependency at the lowest version its range allows, on the
    second Python: with ``tests`` on the first and ``tests_highest`` on the last, CI runs every
    Python in PYTHONS and both ends of the ranges in three runs of the suite."""
    _ranges(session, "lowest-direct", (*RANGES_SKIP, *PACKAGING_TESTS))


@nox.session(venv_backend="uv", python=PYTHONS[-1])
def tests_highest(session: nox.Session) -> None:
    """The suite with every dependency at the highest version its range allows, on the highest
    Python, with the packaging tests (:data:`PACKAGING_TESTS`)."""
    _ranges(session, "highest", RANGES_SKIP)


@nox.session(python=PYTHONS[1:])
def tests_python(session: nox.Session) -> None:
    """The suite with the dev group's pins on another Python (``nox -s tests_python-3.12``); the
    tests session runs it on 3.11."""
    _check_python(session)
    _install(session, "dev")
    _generate(session)
    _pytest(session, ["pytest"], _test_env(session))
