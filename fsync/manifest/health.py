"""Build health: whether each node's latest build and tests passed, over every dbt invocation fsync can see.

dbt rewrites run_results.json on every invocation with that invocation's results only: after `dbt build` then
`dbt run -s stg_users` it says nothing any more about the feature views the build built and tested a
minute earlier. So the health of a node comes from the latest *building* invocation (build, run, test, retry)
that ran it, gathered from

- `<target>/run_results.json` and the run_results.json of every direct subdirectory of the target path
  (dagster-dbt gives each invocation its own target dir under the project's `target/`), and
- `<target>/fsync/build_health.json`, where fsync records every result it reads (under a file lock), so a
  result survives the next invocation's overwrite.

Any other command (compile, docs generate, show, ls, seed, ...) rewrites run_results.json too, with every
compiled node `success`: it is never read as health, so it cannot mask a failed test.

A view may be published when its model's latest result is `success`, each of its tests has a passing result
from an invocation no older than that build (a model rebuilt by `dbt run` is untested until its tests run
again), and the model's checksum in the build's manifest (when known) equals the current manifest's.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fsync.errors import FsyncError
from fsync.manifest.artifacts import SUPPORTED_RUN_RESULTS, load_json, schema_version

# The dbt commands (run_results.json `args.which`) whose results say whether a node was built and tested.
BUILDING_COMMANDS = ("build", "run", "test", "retry")
PASSED = ("pass", "warn", "success")
LEDGER = Path("fsync") / "build_health.json"
LEDGER_FORMAT = 1


@dataclass(frozen=True)
class NodeResult:
    """One node's result in one building dbt invocation."""

    status: str
    command: str  # args.which
    finished_at: str  # the invocation's metadata.generated_at as UTC ISO with µs (string order = time order)
    invocation_id: str
    path: str  # the run_results.json it came from
    checksum: str | None = None  # the node's checksum in that invocation's manifest.json, when it was there

    @property
    def order(self) -> tuple[str, str]:
        return (self.finished_at, self.invocation_id)

    def describe(self) -> str:
        return f"`dbt {self.command}` finished {self.finished_at[:19]}Z, {self.path}"


@dataclass(frozen=True)
class SourceFile:
    """A run_results.json fsync has read: its fingerprint (so it is parsed once) and command."""

    mtime_ns: int
    size: int
    command: str | None


@dataclass
class BuildHealth:
    """The latest building result of each node, and what it was gathered from."""

    results: dict[str, NodeResult] = field(default_factory=dict)
    sources: dict[str, SourceFile] = field(default_factory=dict)
    current: str = "run_results.json"  # the target path's own run_results.json
    checksums: dict[str, str] = field(default_factory=dict)  # unique_id -> checksum in the current manifest

    def reason(self, unique_id: str, test_ids: tuple[str, ...]) -> str | None:
        """Why the model must not be published (its latest build or tests failed or never ran), or None."""
        model = self.results.get(unique_id)
        if model is None or model.command == "test":
            return self._never_built()
        if model.status != "success":
            return f"its latest build has status {model.status!r} ({model.describe()})"
        now = self.checksums.get(unique_id)
        if model.checksum and now and model.checksum != now:
            return (
                f"its SQL changed since its latest build ({model.describe()}); rebuild it"
                f" (`dbt build -s {_short(unique_id).split('.')[-1]}`)"
            )
        bad = []
        for test_id in test_ids:
            test = self.results.get(test_id)
            if test is None:
                bad.append(f"{_short(test_id)} never ran")
            elif test.order < model.order:
                bad.append(f"{_short(test_id)} did not run since `dbt {model.command}` rebuilt the model")
            elif test.status not in PASSED:
                bad.append(f"{_short(test_id)} {test.status}")
        if bad:
            return "its tests did not pass: " + "; ".join(bad[:5]) + (" ..." if len(bad) > 5 else "")
        return None

    def _never_built(self) -> str:
        current = self.sources.get(self.current)
        if current is None and not self.sources and not self.results:
            return "no run_results.json: run `dbt build` before pushing"
        if current is not None and current.command not in BUILDING_COMMANDS:
            unnamed = "a dbt command it does not name (args.which)"
            command = f"`dbt {current.command}`" if current.command else unnamed
            return (
                f"its model never ran in a dbt build fsync has seen, and {self.current} was written by"
                f" {command}, which neither builds nor tests models, so the results of the last build are"
                " gone; run `dbt build` last before pushing (run `dbt compile` or `dbt docs generate` before"
                " it, or with --target-path elsewhere)"
            )
        return (
            "its model never ran in a dbt build, run or retry fsync has seen (run `dbt build`; fsync reads"
            f" {self.current}, the run_results.json of each subdirectory of the target path and what it"
            " recorded earlier)"
        )


def _short(unique_id: str) -> str:
    return unique_id.split(".", 2)[-1]


def _finished_at(doc: dict[str, Any], path: Path) -> str:
    """The invocation's end as UTC ISO with µs; a file without generated_at is dated by its mtime."""
    text = (doc.get("metadata") or {}).get("generated_at")
    try:
        moment = datetime.fromisoformat(str(text)) if text else None
    except ValueError:
        moment = None
    if moment is None:
        moment = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def _checksums(doc: Mapping[str, Any]) -> dict[str, str]:
    out = {}
    for uid, node in (doc.get("nodes") or {}).items():
        checksum = (node.get("checksum") or {}).get("checksum") if isinstance(node, dict) else None
        if checksum:
            out[str(uid)] = str(checksum)
    return out


def read_run_results(path: Path) -> tuple[str | None, dict[str, NodeResult]]:
    """(args.which, the node results of a building invocation) of one run_results.json; the checksums come
    from the manifest.json beside it when dbt wrote both in the same invocation."""
    doc = load_json(path)
    schema_version(doc, "run-results", SUPPORTED_RUN_RESULTS, path)
    args = doc.get("args")
    which = args.get("which") if isinstance(args, dict) else None
    command = str(which) if which else None
    if command not in BUILDING_COMMANDS:
        return command, {}
    results = doc.get("results")
    if not isinstance(results, list):
        raise FsyncError(f"{path} has no list of results; rerun `dbt build`.")
    invocation = str((doc.get("metadata") or {}).get("invocation_id") or path)
    checksums: dict[str, str] = {}
    manifest_path = path.parent / "manifest.json"
    if manifest_path.is_file():
        try:
            manifest = json.loads(manifest_path.read_text())
        except (OSError, ValueError):
            manifest = {}
        if isinstance(manifest, dict) and (manifest.get("metadata") or {}).get("invocation_id") == invocation:
            checksums = _checksums(manifest)
    finished = _finished_at(doc, path)
    out = {}
    for r in results:
        if isinstance(r, dict) and r.get("unique_id"):
            uid = str(r["unique_id"])
            status = str(r.get("status"))
            out[uid] = NodeResult(status, command, finished, invocation, str(path), checksums.get(uid))
    return command, out


def _candidates(target_path: Path) -> list[Path]:
    own = target_path / "run_results.json"
    nested = sorted(target_path.glob("*/run_results.json")) if target_path.is_dir() else []
    return ([own] if own.is_file() else []) + nested


def _merge(into: dict[str, NodeResult], new: Mapping[str, NodeResult]) -> bool:
    changed = False
    for uid, result in new.items():
        known = into.get(uid)
        if known is None or result.order > known.order:
            into[uid] = result
            changed = True
    return changed


@contextmanager
def _locked(path: Path) -> Iterator[bool]:
    """Hold an exclusive lock on the ledger (yields False when the target dir is not writable: the results
    are then gathered in memory only)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path.with_suffix(".lock"), "a")  # noqa: SIM115 - held for the whole block
    except OSError:
        yield False
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield True


def _read_ledger(path: Path) -> tuple[dict[str, NodeResult], dict[str, SourceFile]]:
    if not path.exists():
        return {}, {}
    try:
        doc = json.loads(path.read_text())
        if doc.get("format") != LEDGER_FORMAT:
            raise ValueError(f"format {doc.get('format')!r}")
        results = {uid: NodeResult(**r) for uid, r in doc["results"].items()}
        sources = {p: SourceFile(**s) for p, s in doc["sources"].items()}
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise FsyncError(
            f"{path} (fsync's record of earlier dbt results) is unreadable ({exc}); delete it and run"
            " `dbt build` again."
        ) from None
    return results, sources


def _write_ledger(path: Path, results: dict[str, NodeResult], sources: dict[str, SourceFile]) -> None:
    doc = {
        "format": LEDGER_FORMAT,
        "results": {uid: asdict(r) for uid, r in sorted(results.items())},
        "sources": {p: asdict(s) for p, s in sorted(sources.items())},
    }
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    try:
        tmp.write_text(json.dumps(doc, indent=1))
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)  # a read-only target: the results were still used in memory


def load_build_health(target_path: Path, manifest: Mapping[str, Any] | None = None) -> BuildHealth:
    """The latest building result of every node, from the run_results.json files of the target path and
    fsync's ledger; records what is new in the ledger."""
    ledger = target_path / LEDGER
    with _locked(ledger) as writable:
        results, known_sources = _read_ledger(ledger)
        sources: dict[str, SourceFile] = {}  # the files there now (a deleted one's results stay recorded)
        for path in _candidates(target_path):
            stat = path.stat()
            known = known_sources.get(str(path))
            if known is not None and (known.mtime_ns, known.size) == (stat.st_mtime_ns, stat.st_size):
                sources[str(path)] = known
                continue
            command, found = read_run_results(path)
            sources[str(path)] = SourceFile(stat.st_mtime_ns, stat.st_size, command)
            _merge(results, found)
        if sources != known_sources and writable:
            _write_ledger(ledger, results, sources)
    return BuildHealth(
        results=results,
        sources=sources,
        current=str(target_path / "run_results.json"),
        checksums=_checksums(manifest or {}),
    )
