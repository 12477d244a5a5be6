"""The CLI reference (docs/cli.md), generated from the commands' own --help and the exit codes defined in
fsync.errors, so the docs cannot drift from the code (tests/python/test_docs.py compares them).

    .venv/bin/python -m fsync.cli.reference > docs/cli.md      (or: python3 dev.py docs)
"""

from __future__ import annotations

import click

from fsync.errors import EXIT_CODES

WIDTH = 100


def _commands(group: click.Group, prefix: str) -> list[tuple[str, click.Command]]:
    out: list[tuple[str, click.Command]] = []
    for name in sorted(group.commands):
        command = group.commands[name]
        path = f"{prefix} {name}"
        out.append((path, command))
        if isinstance(command, click.Group):
            out += _commands(command, path)
    return out


def _help(command: click.Command, path: str) -> str:
    with click.Context(command, info_name=path, terminal_width=WIDTH, max_content_width=WIDTH) as ctx:
        return command.get_help(ctx)


def render_reference(main: click.Group) -> str:
    lines = [
        "# fsync command reference",
        "",
        "Generated from `fsync --help` by `python3 dev.py docs` (fsync/cli/reference.py); do not edit.",
        "",
        "## Exit codes",
        "",
        "| code | meaning |",
        "|---|---|",
        *[f"| {int(code)} | {meaning} |" for code, meaning in EXIT_CODES.items()],
        "",
        "With `--json`, every command prints JSON on stdout, also on errors:",
        '`{"error": {"exit_code": 2, "kind": "user_error", "message": "..."}}`.',
        "",
        "## fsync",
        "",
        "```text",
        _help(main, "fsync"),
        "```",
    ]
    for path, command in _commands(main, "fsync"):
        lines += ["", f"## {path}", "", "```text", _help(command, path), "```"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    from fsync.cli import main as _main

    print(render_reference(_main), end="")
