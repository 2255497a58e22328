"""Test-wide setup. Airflow reads its environment at import, so this runs before anything imports it."""

from __future__ import annotations

import os
import pathlib
import tempfile

_home = pathlib.Path(tempfile.mkdtemp(prefix="cloudflows-airflow-home-"))
os.environ["AIRFLOW_HOME"] = str(_home)
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(_home / "dags")
os.environ.setdefault("AIRFLOW__CORE__TEST_CONNECTION", "Enabled")

from importlib.metadata import version as _version  # noqa: E402

AIRFLOW_MAJOR = int(_version("apache-airflow").split(".")[0])
if AIRFLOW_MAJOR < 3:
    # Airflow 2 refuses SQLite with the LocalExecutor.
    os.environ["AIRFLOW__CORE__EXECUTOR"] = "SequentialExecutor"

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def airflow_db():
    """A migrated metadata DB, only for tests that really need one (dag.test, XCom, links)."""
    from airflow.utils import db

    db.resetdb()


# -- secrets never reach a log record -----------------------------------------------------------
# Every test runs with DEBUG logging captured by this handler; any record (message, arguments or
# traceback) that contains a known secret or security token fails the whole session.
import logging  # noqa: E402


def _known_secrets() -> list[str]:
    from airflow_provider_cloudflows.emulator import config

    names = [n for n in dir(config) if n.endswith(("_SECRET", "_SECRET_KEY", "_TOKEN"))]
    return [getattr(config, n) for n in names] + ["good-secret", "wrong-secret"]


class _SecretLeakHandler(logging.Handler):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__(level=logging.DEBUG)
        self.secrets = secrets
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:
            text = f"{record.msg!r} {record.args!r}"
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        for secret in self.secrets:
            if secret in text:
                self.leaks.append(f"{record.name}: {text[:300]}")


_leak_handler: _SecretLeakHandler | None = None


def pytest_configure(config):
    global _leak_handler
    _leak_handler = _SecretLeakHandler(_known_secrets())
    root = logging.getLogger()
    root.addHandler(_leak_handler)
    root.setLevel(logging.DEBUG)


def pytest_sessionfinish(session, exitstatus):
    if _leak_handler and _leak_handler.leaks:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter:
            reporter.write_line(
                f"SECRET LEAK: {len(_leak_handler.leaks)} log records contain a secret:", red=True
            )
            for leak in _leak_handler.leaks[:20]:
                reporter.write_line(f"  {leak}", red=True)
        session.exitstatus = 1


EXAMPLE_DAGS = pathlib.Path(__file__).parents[1] / "example_dags"


@pytest.fixture
def load_example_dag(airflow_db):
    """Load example_dags/<name>.py the way `dag.test()` needs it: from the DAGs folder.

    Airflow 3 only runs `dag.test()` for a DAG that lives in a dags-folder bundle, so the file is
    copied there first. Returns the DAG, for the test to adjust and run.
    """
    import importlib.util
    import shutil

    def load(name: str):
        dags = pathlib.Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
        dags.mkdir(parents=True, exist_ok=True)
        target = dags / f"{name}.py"
        shutil.copy(EXAMPLE_DAGS / f"{name}.py", target)
        spec = importlib.util.spec_from_file_location(f"{name}_under_test", target)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.dag

    return load


class LoggedLines(logging.Handler):
    """What the code under test logged, wherever Airflow's logging config sends it.

    Airflow 3's task loggers print through structlog (captured stdout); Airflow 2's write to
    whatever handlers its logging config last set up, and a config applied by an earlier test may
    have disabled existing loggers or stopped them propagating. `watch` reads a logger directly.
    """

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        super().__init__(logging.DEBUG)
        self.capsys = capsys
        self.lines: list[str] = []
        self._watched: list[tuple[logging.Logger, bool]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def watch(self, logger: object) -> None:
        if isinstance(logger, logging.Logger):
            self._watched.append((logger, logger.disabled))
            logger.disabled = False
            logger.addHandler(self)

    def text(self) -> str:
        captured = self.capsys.readouterr()
        self.lines += (captured.out + captured.err).splitlines()
        return "\n".join(self.lines)

    def close(self) -> None:
        for logger, disabled in self._watched:
            logger.removeHandler(self)
            logger.disabled = disabled
        super().close()


@pytest.fixture
def logged(capsys):
    lines = LoggedLines(capsys)
    yield lines
    lines.close()
