"""A throwaway PostgreSQL server for a live Airflow: Debian's binaries, a temporary cluster, 127.0.0.1 only.

`temporary_postgres()` runs initdb in a fresh temporary directory, starts `postgres` on a free
port of 127.0.0.1 (its unix socket in that directory too, never in /var/run/postgresql), creates
the `airflow` database with a random password, and on exit - also on failure - stops the server
and removes the directory. PostgreSQL refuses to run as root, so as root the server runs as the
`postgres` system user the Debian package creates. The binaries come from
scripts/ensure_postgresql.sh (run by scripts/test and scripts/demo).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cloudflows_demo.processes import ProcessSet, free_port, tail

DATABASE = "airflow"
USER = "airflow"
# As root, the server runs as this system user (created by Debian's postgresql-common).
SYSTEM_USER = "postgres"

# A throwaway cluster: nothing in it must survive a crash, so durability is traded for speed,
# and enough connections for a scheduler, an api-server and several triggerers with their pools.
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "max_connections": "300",
    "shared_buffers": "128MB",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "log_min_messages": "warning",
}


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    user: str
    password: str
    database: str
    data_dir: Path

    @property
    def sqlalchemy_url(self) -> str:
        """The URL for `[database] sql_alchemy_conn` (psycopg2, the driver in the lock file)."""
        return f"postgresql+psycopg2://{self.user}:{self.password}@{self.host}:{self.port}/{self.database}"

    def connect(self, database: str | None = None) -> object:
        """A psycopg2 connection (autocommit), for tests that read the metadata DB directly."""
        import psycopg2

        conn = psycopg2.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=database or self.database,
            connect_timeout=5,
        )
        conn.autocommit = True
        return conn


def postgres_bin_dir() -> Path:
    """The directory of initdb and postgres: Debian's newest /usr/lib/postgresql/N/bin, else PATH."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name)
    )
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise RuntimeError(
        "PostgreSQL's server binaries (initdb, postgres) are not installed: run scripts/ensure_postgresql.sh "
        "(it runs `apt-get install postgresql`)"
    )


def _server_user() -> str | None:
    """The user the server runs as: this one, or the `postgres` system user when this one is root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise RuntimeError(
            f"PostgreSQL refuses to run as root and there is no {SYSTEM_USER!r} user to run it as: "
            "install Debian's postgresql package (scripts/ensure_postgresql.sh) or run as another user"
        ) from None
    return SYSTEM_USER


@contextlib.contextmanager
def temporary_postgres(log_dir: Path, *, startup_timeout: float = 60.0) -> Iterator[Postgres]:
    """A running throwaway PostgreSQL with an empty `airflow` database; stopped and deleted on exit."""
    bin_dir = postgres_bin_dir()
    user = _server_user()
    root = Path(tempfile.mkdtemp(prefix="cloudflows-postgres-"))
    password = secrets.token_hex(16)
    try:
        data_dir = root / "data"
        pwfile = root / "pwfile"
        pwfile.write_text(password + "\n", encoding="utf-8")
        if user is not None:
            entry = pwd.getpwnam(user)
            for path in (root, pwfile):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
        with ProcessSet(log_dir) as procs:
            done = procs.run(
                "initdb",
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(data_dir),
                    "-U",
                    USER,
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--no-locale",
                    "--no-sync",
                ],
                env,
                timeout=120,
                cwd=root,
                user=user,
            )
            pwfile.unlink()
            if done.popen.returncode != 0:
                raise RuntimeError(f"initdb failed; see {done.log_path}:\n{tail(done.log_path)}")
            port = free_port()
            settings = [arg for key, value in SERVER_SETTINGS.items() for arg in ("-c", f"{key}={value}")]
            server = procs.start(
                "postgres",
                [
                    str(bin_dir / "postgres"),
                    "-D",
                    str(data_dir),
                    "-p",
                    str(port),
                    "-k",
                    str(root),
                    *settings,
                ],
                env,
                cwd=root,
                user=user,
            )
            postgres = Postgres("127.0.0.1", port, USER, password, DATABASE, data_dir)
            _wait_accepting(postgres, server.popen, server.log_path, startup_timeout)
            admin = postgres.connect("postgres")
            try:
                with admin.cursor() as cur:  # type: ignore[attr-defined]
                    cur.execute(f"CREATE DATABASE {DATABASE}")
            finally:
                admin.close()  # type: ignore[attr-defined]
            try:
                yield postgres
            finally:
                # A fast shutdown: open sessions are ended at once (a smart one would wait for them).
                with contextlib.suppress(ProcessLookupError):
                    server.popen.send_signal(signal.SIGINT)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    server.popen.wait(timeout=30)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _wait_accepting(
    postgres: Postgres, popen: subprocess.Popen[bytes], log_path: Path, timeout: float
) -> None:
    import psycopg2

    deadline = time.monotonic() + timeout
    while True:
        if popen.poll() is not None:
            raise RuntimeError(
                f"postgres exited with status {popen.returncode}; see {log_path}:\n{tail(log_path)}"
            )
        try:
            postgres.connect("postgres").close()  # type: ignore[attr-defined]
            return
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"postgres did not accept connections within {timeout:.0f} s; see {log_path}:\n"
                    f"{tail(log_path)}"
                ) from None
            time.sleep(0.2)
