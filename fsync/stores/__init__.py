"""Online stores: one interface (base.OnlineStore), two implementations."""

from fsync.stores.base import Batch, OnlineStore

__all__ = ["Batch", "OnlineStore"]
