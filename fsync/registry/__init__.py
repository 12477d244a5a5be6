"""The registry side: discovery, checks, version locks, impact and training sets (manifest + warehouse)."""
