"""Helpers of the scale tests: an S3 server (moto) on loopback, `imprint worker` in a subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class S3:
    endpoint: str
    bucket: str
    env: dict[str, str]

    def client(self):  # type: ignore[no-untyped-def]
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id="testing",
                            aws_secret_access_key="testing", region_name="us-east-1")


def start_s3() -> tuple[S3, object] | None:
    """A moto S3 server on a loopback port with one bucket, or None where moto is not installed."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        return None
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {"IMPRINT_S3_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    s3 = S3(env["IMPRINT_S3_ENDPOINT_URL"], "imprint-test", env)
    s3.client().create_bucket(Bucket=s3.bucket)
    return s3, server


class WorkerProcess:
    """`imprint worker` in a subprocess, as an operator starts it; its output goes to a log file."""

    def __init__(self, args: list[str], *, env: dict[str, str], log: Path) -> None:
        self.log = log
        full_env = {**os.environ, **env, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        with log.open("ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "imprint.cli.main", "worker", *args],
                                         stdout=out, stderr=subprocess.STDOUT, env=full_env)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_output(self, text: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            assert self.proc.poll() is None, f"the worker exited early:\n{self.output()[-4000:]}"
            assert time.monotonic() < deadline, f"no {text!r} from the worker:\n{self.output()[-4000:]}"
            time.sleep(0.1)

    def stop(self, timeout: float = 120) -> int:
        """SIGTERM, Celery's warm shutdown: the running job is handed back, then the process exits."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"the worker ignored SIGTERM:\n{self.output()[-4000:]}") from None
