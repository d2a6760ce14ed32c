"""Start a throwaway PostgreSQL cluster for tests (Debian's postgresql package is enough).

initdb refuses to run as root, so as root the cluster is owned by the `postgres` system
user (created by the Debian package) and started with `runuser`. The server listens on a
Unix socket only (listen_addresses=''), in the cluster's own temporary folder.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SEARCH = ["/usr/lib/postgresql/*/bin", "/usr/local/bin", "/usr/bin"]


def find_binaries() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres, or None."""
    import glob

    for pattern in SEARCH:
        for folder in sorted(glob.glob(pattern), reverse=True):
            p = Path(folder)
            if all((p / b).exists() for b in ("initdb", "pg_ctl", "postgres")):
                return p
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    folder: Path
    port: int
    user: str
    bin: Path
    run_as: list[str]

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@/postgres?host={self.folder}&port={self.port}"

    def createdb(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url.replace("/postgres?", f"/{name}?")

    def stop(self) -> None:
        subprocess.run(self.run_as + [str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m",
                                      "immediate", "stop"], capture_output=True, timeout=30)
        shutil.rmtree(self.folder, ignore_errors=True)


def start_cluster() -> Cluster:
    """initdb + pg_ctl start in a fresh temporary folder; raises RuntimeError with the log on failure."""
    binaries = find_binaries()
    if binaries is None:
        raise FileNotFoundError("PostgreSQL binaries (initdb, pg_ctl, postgres) not found; "
                                "install the Debian package `postgresql`")
    folder = Path(tempfile.mkdtemp(prefix="ww-pg-"))
    run_as: list[str] = []
    user = os.environ.get("USER") or "postgres"
    if os.geteuid() == 0:
        user = "postgres"
        run_as = ["runuser", "-u", "postgres", "--"]
        shutil.chown(folder, user="postgres", group=None)
    else:
        import getpass

        user = getpass.getuser()
    os.chmod(folder, 0o755)
    data = folder / "data"
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    r = subprocess.run(run_as + [str(binaries / "initdb"), "-D", str(data), "-U", user, "--auth=trust",
                                 "-E", "UTF8", "--no-sync"], capture_output=True, text=True, env=env, timeout=120)
    if r.returncode:
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {r.stderr or r.stdout}")
    port = _free_port()
    options = f"-k {folder} -p {port} -c listen_addresses='' -c fsync=off -c full_page_writes=off"
    r = subprocess.run(run_as + [str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l",
                                 str(folder / "log"), "-w", "-t", "60", "start"],
                       capture_output=True, text=True, env=env, timeout=90)
    if r.returncode:
        log = (folder / "log").read_text(errors="replace") if (folder / "log").exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"pg_ctl start failed: {r.stderr or r.stdout}\n{log}")
    cluster = Cluster(folder, port, user, binaries, run_as)
    for _ in range(100):  # -w waits, but be safe about the socket
        if (folder / f".s.PGSQL.{port}").exists():
            break
        time.sleep(0.05)
    return cluster
