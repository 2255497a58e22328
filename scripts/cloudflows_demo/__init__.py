"""The demo behind `scripts/demo`, one module per job.

- `processes`: starting and stopping every process the demo runs, in its own process group.
- `emulator`: the local emulator of the four vendor APIs, with the runs the example DAGs wait for.
- `site`: the throwaway Airflow home, its environment and its components.
- `rest`: a client of the Airflow REST API of that site.
- `report`: what ran, read from the metadata DB and the logs, and the summary table.
- `cli`: the command line of `scripts/demo` and its two modes.

The process, emulator, site and REST helpers are also used by tests/e2e.
"""

from __future__ import annotations

from pathlib import Path

# The checkout: every process starts here and the example DAGs are read from here.
ROOT = Path(__file__).resolve().parents[2]
