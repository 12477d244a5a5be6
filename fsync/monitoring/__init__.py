"""Monitoring: prove what is served instead of hoping — freshness against each view's SLA (warehouse and
online store), skew between what was served and what the point-in-time join says should have been, and the
push log that makes training sets serving-exact. Above fsync.serving; the catalog reads it; never imports
click.

Stable API (orchestrators build their checks on it): `fsync.monitoring.freshness.freshness_report` and
`check_freshness`, returning a `FreshnessReport`.
"""
