"""Secrets never printed: redaction by parsing (a table of URLs and DSNs), and every output of real commands
(stdout, stderr, --json, catalog pages) grepped for the secret, with the secret in a Redis URL's user info
and query string and in a quoted PostgreSQL password holding spaces and quotes."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import duckdb
import psycopg2
import pytest
from fstore_testing.artifacts import fv_meta, write_artifacts
from fstore_testing.cli import fsync
from fstore_testing.redis_server import free_port, start_redis

from fsync.redact import redact_dsn, redact_url

SECRET = "Xq9hunter"  # every secret below contains it


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"redis://:{SECRET}@h:6380/0", "redis://:***@h:6380/0"),
        (f"rediss://user:{SECRET}@h/1", "rediss://user:***@h/1"),
        (f"redis://127.0.0.1:6379/0?password={SECRET}", "redis://127.0.0.1:6379/0?password=***"),
        (f"redis://h/0?db=1&PASSWORD={SECRET}%20x&x=1", "redis://h/0?db=1&PASSWORD=***&x=1"),
        (f"redis://:p@{SECRET}@h:6379/0", "redis://:***@h:6379/0"),
        (f"redis://u:{SECRET}%40x@[::1]:6380/0", "redis://u:***@[::1]:6380/0"),
        (f"unix:///tmp/r.sock?password={SECRET}&db=0", "unix:/tmp/r.sock?password=***&db=0"),
        (f"redis://h:99999/0?password={SECRET}", "<unparsable url>"),
        (f"redis://h:abc/0?token={SECRET}", "<unparsable url>"),
        ("redis://h:6379/0", "redis://h:6379/0"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@pytest.mark.parametrize(
    ("dsn", "shown"),
    [
        (f"host=h password='{SECRET} two' dbname=x", "host=h password=*** dbname=x"),
        (f"host=h password = '{SECRET} two' dbname=x", "host=h password = *** dbname=x"),
        (f"host=h password='{SECRET}\\' two' dbname=x", "host=h password=*** dbname=x"),
        (f"host=h password='{SECRET} unterminated", "host=h password=***"),
        (f"host=h PASSWORD={SECRET} dbname=x", "host=h PASSWORD=*** dbname=x"),
        (f"password={SECRET}", "password=***"),
        (f"host=h sslpassword={SECRET}", "host=h sslpassword=***"),
        (f"postgresql://u:{SECRET}%20x@h/db?sslmode=require", "postgresql://u:***@h/db?sslmode=require"),
        (f"postgres://u@h/db?password={SECRET}", "postgres://u@h/db?password=***"),
        ("host=h dbname=x", "host=h dbname=x"),
    ],
)
def test_redact_dsn(dsn: str, shown: str) -> None:
    assert redact_dsn(dsn) == shown


def _outputs(*results: object) -> str:
    return "\n".join(f"{r.stdout}\n{r.stderr}" for r in results)  # type: ignore[attr-defined]


def test_redis_password_in_the_query_string_is_never_printed(tmp_path: Path) -> None:
    db = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(db))
    con.execute("create table main.fv as select 1 as user_id, now()::timestamp as feature_ts, 2 as x")
    con.close()
    write_artifacts(
        tmp_path / "target",
        [
            {
                "name": "fv",
                "meta": fv_meta(),
                "columns": {"user_id": "integer", "feature_ts": "timestamp", "x": "integer"},
            }
        ],
    )
    port = free_port()
    server = start_redis(tmp_path, port, password=SECRET)
    base = {
        "FSYNC_PROJECT_DIR": str(tmp_path),
        "FSYNC_DUCKDB_PATH": str(db),
        "FSYNC_TARGET_PATH": "target",
        "FSYNC_STORE": "redis",
        "FSYNC_RETRIES": "1",
        "FSYNC_RETRY_BACKOFF": "0.01",
    }
    try:
        good = {**base, "FSYNC_REDIS_URL": f"redis://127.0.0.1:{port}/0?password={SECRET}"}
        wrong = {**base, "FSYNC_REDIS_URL": f"redis://:{SECRET}x@127.0.0.1:{port}/0"}
        down = {**base, "FSYNC_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0?password={SECRET}"}
        bad = {**base, "FSYNC_REDIS_URL": f"redis://127.0.0.1:{port}x/0?password={SECRET}"}
        results = [
            fsync(good, "push"),
            fsync(good, "push", "--json"),
            fsync(good, "push", "--dry-run", "--json"),
            fsync(good, "get", "fv", "1"),
            fsync(good, "get", "fv", "1", "--json"),
            fsync(wrong, "push"),
            fsync(wrong, "push", "--json"),
            fsync(down, "push"),
            fsync(down, "push", "--json"),
            fsync(bad, "push"),
            fsync(bad, "push", "--json"),
        ]
        assert [r.exit_code for r in results] == [0, 0, 0, 0, 0, 3, 3, 3, 3, 2, 2]
        text = _outputs(*results)
        assert SECRET not in text and "password=***" in text and "Traceback" not in text
    finally:
        server.kill()
        server.wait()


@pytest.mark.postgres
def test_quoted_postgres_password_is_never_printed(tmp_path: Path) -> None:
    """The server trusts local connections, so the password is accepted whatever it is: the point is
    where it shows up."""
    password = f"{SECRET} two's"
    quoted = "'" + password.replace("'", "\\'") + "'"
    dsn = f"host=127.0.0.1 port=5432 user=postgres dbname=test password={quoted}"
    schema = f"fsync_secret_{uuid.uuid4().hex[:8]}"
    con = psycopg2.connect(dsn)
    con.autocommit = True
    with con.cursor() as cur:
        cur.execute(f"create schema {schema}")
        cur.execute(
            f"create table {schema}.fv as select 1::bigint as user_id, now()::timestamp as feature_ts, 2 as x"
        )
    try:
        write_artifacts(
            tmp_path / "target",
            [
                {
                    "name": "fv",
                    "schema": schema,
                    "meta": fv_meta(),
                    "columns": {"user_id": "bigint", "feature_ts": "timestamp", "x": "integer"},
                }
            ],
        )
        base = {
            "FSYNC_PROJECT_DIR": str(tmp_path),
            "FSYNC_TARGET_PATH": "target",
            "FSYNC_WAREHOUSE": "postgres",
            "FSYNC_SQLITE_PATH": str(tmp_path / "o.sqlite"),
        }
        good = {**base, "FSYNC_POSTGRES_DSN": dsn}
        down = {**base, "FSYNC_POSTGRES_DSN": dsn.replace("port=5432", "port=1")}
        invalid = {**base, "FSYNC_POSTGRES_DSN": f"host=127.0.0.1 password='{SECRET} unterminated"}
        site = tmp_path / "site"
        results = [
            fsync(good, "push"),
            fsync(good, "push", "--json"),
            fsync(good, "views", "--json"),
            fsync(good, "catalog", "--out", str(site)),
            fsync(good, "catalog", "--out", str(site), "--json"),
            fsync(down, "push"),
            fsync(down, "push", "--json"),
            fsync(down, "catalog", "--out", str(site)),
            fsync(invalid, "push"),
            fsync(invalid, "push", "--json"),
            fsync(invalid, "catalog", "--out", str(tmp_path / "site2")),
        ]
        assert [r.exit_code for r in results] == [0, 0, 0, 0, 0, 3, 3, 0, 2, 2, 0], _outputs(*results)
        text = _outputs(*results)
        pages = "\n".join(
            p.read_text() for p in [*site.rglob("*.html"), *(tmp_path / "site2").rglob("*.html")]
        )
        assert "PostgreSQL (" in pages and "password=***" in pages  # the pages do name the warehouse
        for token in (SECRET, "two's", "two\\'s", "unterminated"):
            assert token not in text, token
            assert token not in pages, token
        assert "Traceback" not in text
    finally:
        with con.cursor() as cur:
            cur.execute(f"drop schema {schema} cascade")
        con.close()
    assert os.environ.get("FSYNC_POSTGRES_DSN") is None or SECRET not in os.environ["FSYNC_POSTGRES_DSN"]
