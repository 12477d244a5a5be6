"""fsync: publish dbt feature views to an online store, serve them, and check freshness and skew."""

__version__ = "0.1.0"
