"""Online stores: one interface (base.OnlineStore), two implementations."""

from fsync.stores.base import OnlineStore, Record

__all__ = ["OnlineStore", "Record"]
