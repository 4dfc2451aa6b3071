"""Running the HTTP server: one process, or API worker processes beside a job process."""

from imprint.server.run import run_server

__all__ = ["run_server"]
