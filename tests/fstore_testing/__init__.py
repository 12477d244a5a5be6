"""Helpers of fstore's test suite (and of bench/): dbt runners per project and engine, the demo build, private
redis-servers, the fsync fixture project's random data, the brute-force reference implementation."""
