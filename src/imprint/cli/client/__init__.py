"""The `imprint` client commands: a small signed-HTTP client for any imprint endpoint, speaking only
the public API as every outside client does (login, train, generate, models, jobs)."""
