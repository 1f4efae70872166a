"""Start a Spark Connect server from the pyspark wheel, for the tests (needs Java).

The wheel ships ``bin/spark-submit`` and the Connect server's jar, so a server starts
offline: ``spark-submit --class org.apache.spark.sql.connect.service.SparkConnectServer``.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return int(probe.getsockname()[1])


@contextmanager
def connect_server(log: Path, *, startup: float = 180.0) -> Iterator[str]:
    """A local Spark Connect server (``local[2]``) for the ``with`` block; its URL.

    The server's output goes to ``log``, which the error names if it does not start
    within ``startup`` seconds.
    """
    import pyspark

    submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"
    port = free_port()
    command = [
        str(submit), "--class", SERVER_CLASS, "--master", "local[2]",
        "--conf", f"spark.connect.grpc.binding.port={port}",
        "--conf", "spark.ui.enabled=false",
        "--conf", "spark.sql.shuffle.partitions=2",
    ]  # fmt: skip
    with open(log, "w") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + startup
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"the Spark Connect server exited; see {log}")
            try:
                socket.create_connection(("localhost", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no Connect server after {startup} s; see {log}") from None
                time.sleep(1)
        yield f"sc://localhost:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
