#!/usr/bin/env python3
"""After `fsync push --as-of AS_OF`: read one user online through the `churn_model` feature service, with the
SDK a model service would use, and print the row it serves (the columns of training_churn) and its statuses.

    .venv/bin/python examples/demo/scripts/online_demo.py 2024-12-01T12:00:00   # from examples/demo
"""

from __future__ import annotations

import sys
from pathlib import Path

from fsync import FeatureStore

PROJECT = Path(__file__).resolve().parent.parent


def main() -> None:
    as_of = sys.argv[1] if len(sys.argv) > 1 else None
    with FeatureStore(PROJECT) as fs:
        result = fs.get_online_features(entity_rows=[{"user_id": 1150}], service="churn_model", now=as_of)
        print(f"\nonline read through service churn_model (training_churn's columns), now = {result.now}:")
        width = max(len(name) for name in result.columns)
        for name, values in result.to_dict().items():
            print(f"  {name.ljust(width)}  {values[0]!r}")
        for view, states in result.statuses.items():
            print(f"  status of {view}: {states[0]} (feature_ts {result.feature_ts[view][0]})")
        print(f"  logged as request {result.request_id} (churn_model has `log: true`)")
        print(f"  online store: {fs.store.describe()}")


if __name__ == "__main__":
    main()
