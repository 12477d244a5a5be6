"""Docs from one source: the CLI reference is the commands' own --help, and every public macro is documented
once (macros/_macros.yml) with exactly the arguments its code takes, and the README's reference agrees."""

from __future__ import annotations

import re

import yaml
from fstore_testing.dbt import ROOT

from fsync.cli import main
from fsync.cli.reference import render_reference

MACRO = re.compile(r"\{%-?\s*(macro|test)\s+(\w+)\s*\((.*?)\)\s*-?%\}", re.S)


def _public_macros() -> dict[str, tuple[str, list[tuple[str, str | None]]]]:
    """name (tests as test_<name>) -> (file, [(argument, default text or None)]), from the macro sources."""
    found: dict[str, tuple[str, list[tuple[str, str | None]]]] = {}
    for path in sorted((ROOT / "macros").rglob("*.sql")):
        if "_internal" in path.parts:
            continue
        for kind, name, args in MACRO.findall(path.read_text()):
            if name.startswith("_") or "__" in name:
                continue  # private helpers and adapter implementations (default__x, duckdb__x)
            params = []
            for part in (p.strip() for p in re.split(r",(?![^\[{(]*[\]})])", " ".join(args.split()))):
                if not part:
                    continue
                arg, _, default = part.partition("=")
                params.append((arg.strip(), default.strip() or None))
            if kind == "test":
                name = f"test_{name}"
                params = [p for p in params if p[0] not in ("model", "column_name")]
            assert name not in found, f"public macro {name} is defined twice ({found[name][0]}, {path})"
            found[name] = (str(path.relative_to(ROOT)), params)
    return found


def test_cli_reference_is_generated_from_help() -> None:
    current = (ROOT / "docs" / "cli.md").read_text()
    assert current == render_reference(main), "docs/cli.md is stale: run `python3 dev.py docs`"


def test_one_public_macro_per_file() -> None:
    files: dict[str, list[str]] = {}
    for name, (file, _) in _public_macros().items():
        files.setdefault(file, []).append(name)
    crowded = {f: names for f, names in files.items() if len(names) > 1}
    assert not crowded, f"more than one public macro in a file: {crowded}"


def test_macros_yml_documents_every_public_macro_with_its_arguments() -> None:
    documented = {
        m["name"]: m for m in yaml.safe_load((ROOT / "macros" / "_macros.yml").read_text())["macros"]
    }
    code = _public_macros()
    assert sorted(documented) == sorted(code), "macros/_macros.yml and the macro code list different macros"
    for name, (file, params) in code.items():
        entry = documented[name]
        assert entry.get("description"), f"{name} has no description in macros/_macros.yml"
        names = [a["name"] for a in entry.get("arguments") or []]
        assert names == [p[0] for p in params], (
            f"{name} ({file}): _macros.yml arguments {names} != code {params}"
        )
        for arg in entry.get("arguments") or []:
            assert arg.get("type") and arg.get("description"), f"{name}.{arg['name']}: type and description"


def test_readme_reference_signatures_match_the_code() -> None:
    readme = (ROOT / "README.md").read_text()
    headings = dict(re.findall(r"^### `(\w+)\((.*)\)`$", readme, re.M))
    code = {n: p for n, (_, p) in _public_macros().items() if not n.startswith("test_")}
    assert sorted(headings) == sorted(code), (
        "the README's macro reference lists different macros than the code"
    )
    for name, params in code.items():
        written = ", ".join(a if d is None else f"{a}={d}" for a, d in params)
        assert headings[name] == written, f"README: `{name}({headings[name]})`, code: `{name}({written})`"
