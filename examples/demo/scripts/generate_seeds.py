#!/usr/bin/env python3
"""Write the demo e-commerce seeds under examples/demo/seeds/ (deterministic: same output on every run).

    .venv/bin/python examples/demo/scripts/generate_seeds.py

The raw data is deliberately messy, the way raw exports are: timestamps are text, some naive Pacific wall
times and some with an explicit offset (-08:00, Z, +05:30); exact duplicate rows; corrected versions of a line
item that arrive later (same key, later ingested_at, different amount or ordered_at); late-recorded returns
(some on the same day); failed payments with a NULL amount; rows at the 2024 DST gap and overlap and around
the UTC / Pacific date boundary; labels with duplicates and for users who never had an event.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "seeds"
SEED = 20240310
PACIFIC = ZoneInfo("America/Los_Angeles")
KOLKATA = ZoneInfo("Asia/Kolkata")
START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2024, 11, 30, tzinfo=UTC)
N_USERS = 240
FIRST_USER = 1001
GHOST_USERS = range(9001, 9007)  # users with labels but no events


def fmt_time(instant: datetime, style: str) -> str:
    """Render a UTC instant as raw text in one of the source styles."""
    if style == "naive_pacific":
        return instant.astimezone(PACIFIC).strftime("%Y-%m-%d %H:%M:%S")
    if style == "pacific_offset":
        return instant.astimezone(PACIFIC).isoformat(timespec="seconds")
    if style == "z":
        return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if style == "kolkata":
        return instant.astimezone(KOLKATA).isoformat(timespec="seconds")
    raise ValueError(f"unknown time style {style!r}")


def pick_style(rng: random.Random) -> str:
    return rng.choices(["naive_pacific", "pacific_offset", "z", "kolkata"], weights=[5, 3, 3, 1])[0]


def ingest_text(rng: random.Random, instant: datetime) -> str:
    """ingested_at always carries an offset (Z or Pacific)."""
    return fmt_time(instant, rng.choice(["z", "pacific_offset"]))


def random_instant(rng: random.Random) -> datetime:
    span = int((END - START).total_seconds())
    return START + timedelta(seconds=rng.randrange(span))


PURCHASE_COLUMNS = ["order_id", "line_item_id", "user_id", "ordered_at", "amount", "returned_at",
                    "ingested_at"]


def purchase_row(order_id: int, line: int, user: int, ordered_at: str, amount: float | None,
                 returned_at: str | None, ingested_at: str) -> dict[str, object]:
    return {"order_id": order_id, "line_item_id": line, "user_id": user, "ordered_at": ordered_at,
            "amount": "" if amount is None else f"{amount:.2f}", "returned_at": returned_at or "",
            "ingested_at": ingested_at}


def edge_purchases(next_order: int) -> list[dict[str, object]]:
    """Hand-written rows at the DST edges and the UTC / Pacific date boundary (users 1001-1004)."""
    rows: list[tuple[str, float | None, str | None, str]] = [
        # DST gap: 02:30 never happens on 2024-03-10 in Los Angeles -> 10:30Z
        ("2024-03-10 02:30:00", 42.00, None, "2024-03-10T11:00:00Z"),
        # the same night written with offsets, before and after the change
        ("2024-03-10T01:30:00-08:00", 19.99, None, "2024-03-10T10:00:00Z"),
        ("2024-03-10T03:30:00-07:00", 25.50, None, "2024-03-10T11:00:00Z"),
        # DST overlap: 01:30 happens twice on 2024-11-03 -> the later instant, 09:30Z
        ("2024-11-03 01:30:00", 60.00, None, "2024-11-03T10:00:00Z"),
        ("2024-11-03T01:30:00-07:00", 61.00, None, "2024-11-03T10:00:00Z"),
        # 23:30 UTC: still the same UTC day, Pacific afternoon
        ("2024-02-14T23:30:00Z", 80.00, "2024-02-14T23:55:00Z", "2024-02-15T00:10:00Z"),
        # 16:30 Pacific = 00:30Z the next UTC day; returned at 23:45 Pacific = 07:45Z: same UTC day
        ("2024-02-14 16:30:00", 15.00, "2024-02-14 23:45:00", "2024-02-15T08:00:00Z"),
        # 23:00Z purchase, returned 00:30Z the next day: same Pacific day but NOT the same UTC day
        ("2024-04-20T23:00:00Z", 33.33, "2024-04-21T00:30:00Z", "2024-04-21T01:00:00Z"),
        # +05:30 offset just after midnight Kolkata = 18:45Z the previous day
        ("2024-05-01T00:15:00+05:30", 12.00, None, "2024-04-30T19:00:00Z"),
        # exactly at the spine's midnight: excluded from the day's own feature row (window end is exclusive)
        ("2024-06-01T00:00:00Z", 99.00, None, "2024-06-01T00:05:00Z"),
    ]
    out = []
    for i, (ordered_at, amount, returned_at, ingested_at) in enumerate(rows):
        out.append(purchase_row(next_order + i, 1, FIRST_USER + i % 4, ordered_at, amount, returned_at,
                                ingested_at))
    return out


def generate_purchases(rng: random.Random) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    order_id = 500001
    for user in range(FIRST_USER, FIRST_USER + N_USERS):
        n_orders = rng.choice([0, 1, 2, 3, 4, 5, 6, 8, 10, 12])
        for _ in range(n_orders):
            ordered = random_instant(rng)
            failed = rng.random() < 0.06
            style = pick_style(rng)
            for line in range(1, rng.choice([1, 1, 1, 2, 2, 3, 4]) + 1):
                amount = None if failed else round(rng.uniform(3, 250), 2)
                ingested = ordered + timedelta(minutes=rng.randrange(2, 180))
                returned: datetime | None = None
                if not failed and rng.random() < 0.12:
                    same_day = rng.random() < 0.5
                    returned = ordered + (timedelta(minutes=rng.randrange(5, 240)) if same_day
                                          else timedelta(days=rng.randrange(1, 20), hours=rng.randrange(24)))
                base = purchase_row(order_id, line, user, fmt_time(ordered, style), amount, None,
                                    ingest_text(rng, ingested))
                rows.append(base)
                if rng.random() < 0.05:  # exact duplicate (re-delivered row)
                    rows.append(dict(base))
                if returned is not None:  # the return arrives as a later version of the line item
                    rows.append({**base, "returned_at": fmt_time(returned, pick_style(rng)),
                                 "ingested_at": ingest_text(rng, max(returned, ingested)
                                                               + timedelta(minutes=rng.randrange(1, 90)))})
                elif rng.random() < 0.06:  # a correction arrives days later
                    late = ingested + timedelta(days=rng.randrange(1, 10), minutes=rng.randrange(60))
                    changed = dict(base, ingested_at=ingest_text(rng, late))
                    if amount is not None and rng.random() < 0.6:
                        changed["amount"] = f"{round(amount * rng.uniform(0.5, 1.5), 2):.2f}"
                    else:
                        changed["ordered_at"] = fmt_time(ordered + timedelta(hours=rng.randrange(-30, 30)),
                                                         pick_style(rng))
                    rows.append(changed)
            order_id += 1
    rows.extend(edge_purchases(order_id))
    # A late correction of the DST-gap row: the amount changes two days later.
    gap = next(r for r in rows if r["ordered_at"] == "2024-03-10 02:30:00")
    rows.append({**gap, "amount": "40.00", "ingested_at": "2024-03-12T09:00:00-07:00"})
    rng.shuffle(rows)
    return rows


SESSION_COLUMNS = ["session_id", "user_id", "started_at", "duration_seconds", "ingested_at"]


def generate_sessions(rng: random.Random) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    session_id = 1
    for user in range(FIRST_USER, FIRST_USER + N_USERS):
        for _ in range(rng.choice([0, 2, 4, 6, 8, 12, 16, 24])):
            started = random_instant(rng)
            duration = None if rng.random() < 0.03 else rng.randrange(5, 3600)
            ingested = started + timedelta(seconds=(duration or 0) + rng.randrange(30, 1800))
            base = {"session_id": f"s{session_id:06d}", "user_id": user,
                    "started_at": fmt_time(started, pick_style(rng)),
                    "duration_seconds": "" if duration is None else duration,
                    "ingested_at": ingest_text(rng, ingested)}
            rows.append(base)
            if rng.random() < 0.04:
                rows.append(dict(base))
            if duration is not None and rng.random() < 0.04:  # the session was extended after a reconnect
                later = ingested + timedelta(hours=rng.randrange(1, 48))
                rows.append({**base, "duration_seconds": duration + rng.randrange(60, 600),
                             "ingested_at": ingest_text(rng, later)})
            session_id += 1
    edges = [("2024-03-10 02:30:00", 300), ("2024-11-03 01:30:00", 120), ("2024-02-14T23:30:00Z", 900),
             ("2024-02-14 16:30:00", 60)]
    for i, (started_at, duration) in enumerate(edges):
        rows.append({"session_id": f"s{session_id + i:06d}", "user_id": FIRST_USER + i,
                     "started_at": started_at, "duration_seconds": duration,
                     "ingested_at": "2024-11-04T00:00:00Z"})
    rng.shuffle(rows)
    return rows


LABEL_COLUMNS = ["user_id", "label_ts", "label"]


def generate_labels(rng: random.Random, positive_rate: float, n: int) -> list[dict[str, object]]:
    users = list(range(FIRST_USER, FIRST_USER + N_USERS))
    rows: list[dict[str, object]] = []
    for _ in range(n):
        instant = random_instant(rng)
        # exactly at a feature row's midnight: that row matches (feature_ts <= label_ts)
        if rng.random() < 0.15:
            instant = instant.replace(hour=0, minute=0, second=0)
        rows.append(label_row(rng, rng.choice(users), instant, int(rng.random() < positive_rate)))
    for user in GHOST_USERS:
        rows.append(label_row(rng, user, random_instant(rng), 0))
    # after the end of the feature spine: older than the TTL, so no feature matches
    rows.append(label_row(rng, FIRST_USER, datetime(2024, 12, 20, 12, tzinfo=UTC), 1))
    # duplicate label rows are kept as they are
    for row in rng.sample(rows, 4):
        rows.insert(rng.randrange(len(rows)), dict(row))
    return rows


def label_row(rng: random.Random, user: int, instant: datetime, label: int) -> dict[str, object]:
    fmt = "%Y-%m-%dT%H:%M:%SZ" if rng.random() < 0.5 else "%Y-%m-%d %H:%M:%S"
    text = instant.strftime(fmt)
    return {"user_id": user, "label_ts": text, "label": label}


def write_csv(name: str, columns: Sequence[str], rows: Iterable[dict[str, object]]) -> None:
    path = OUT / name
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {path.relative_to(ROOT)}")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED)
    write_csv("raw_purchases.csv", PURCHASE_COLUMNS, generate_purchases(rng))
    write_csv("raw_sessions.csv", SESSION_COLUMNS, generate_sessions(rng))
    write_csv("churn_labels.csv", LABEL_COLUMNS, generate_labels(rng, positive_rate=0.2, n=500))
    write_csv("fraud_labels.csv", LABEL_COLUMNS, generate_labels(rng, positive_rate=0.05, n=400))


if __name__ == "__main__":
    main()
