"""swp/ is type-checked strictly (mypy, in `make lint` and `make test`), every module of it: no
module's errors are ignored, and no error code is switched off."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _mypy() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]


def test_mypy_is_strict_on_swp():
    config = _mypy()
    assert config["strict"] is True
    assert config["files"] == ["swp"]
    assert "disable_error_code" not in config


def test_no_module_of_swp_has_its_errors_ignored():
    for override in _mypy().get("overrides", []):
        assert not override.get("ignore_errors"), f"make these modules clean instead: {override['module']}"
        assert not override.get("disable_error_code")
        # only third-party libraries without type information may be imported untyped
        assert not any(m == "swp" or m.startswith("swp.") for m in override["module"]), override


def test_every_type_ignore_names_its_error_code():
    bare = [f"{path.relative_to(ROOT)}:{n}" for path in sorted((ROOT / "swp").rglob("*.py"))
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if re.search(r"#\s*type:\s*ignore(?!\[)", line)]
    assert bare == [], f"a type: ignore without an error code hides every error of its line: {bare}"
