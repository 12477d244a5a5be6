"""Secrets never printed: every URL or DSN that fsync shows goes through `redact`, which parses it."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_SECRET_KEYS = frozenset({"password", "pass", "passwd", "pwd", "secret", "token", "sslpassword"})
# libpq keyword/value: key = value, the value bare or single-quoted with \' and \\ escapes; an unterminated
# quote runs to the end (libpq rejects it, and everything after it may be the secret).
_KEYWORD_VALUE = re.compile(r"(\w+)(\s*=\s*)('(?:[^'\\]|\\.)*(?:'|\\?$)|\S*)")


def redact_url(url: str) -> str:
    """A URL with the password of its user info and secret query parameters replaced by ***."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "<unparsable url>"
    netloc = parts.netloc
    if parts.password is not None:
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        if port:
            host += f":{port}"
        netloc = f"{parts.username or ''}:***@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, "***" if k.lower() in _SECRET_KEYS else v) for k, v in pairs], safe="*")
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def redact_dsn(dsn: str) -> str:
    """A libpq connection string (keyword/value or URL form) with every password replaced by ***."""
    if re.match(r"^\s*[a-z][a-z0-9+.-]*://", dsn, re.I):
        return redact_url(dsn.strip())

    def hide(m: re.Match[str]) -> str:
        return f"{m.group(1)}{m.group(2)}***" if m.group(1).lower() in _SECRET_KEYS else m.group(0)

    return _KEYWORD_VALUE.sub(hide, dsn)
