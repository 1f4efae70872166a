"""Child processes whose numbers do not depend on the machine or the run.

pyfixest orders some of a model's parts by iterating over sets of strings, whose order
follows the interpreter's hash seed, and the last digits of a fit follow that order. A
hash seed can only be fixed when an interpreter starts, so the fits whose outputs must be
byte-identical from run to run (the World Bank analyses, the report's notebooks) run in
child processes started under :func:`reproducible_children`. The children run side by
side on the cores, so BLAS and numba get one thread each (threads on top of processes
oversubscribe the cores), which also keeps their sums in one order on any machine.

Examples
--------
>>> import subprocess, sys
>>> show = "import os; print(os.environ['PYTHONHASHSEED'])"
>>> with reproducible_children():
...     child = subprocess.run([sys.executable, "-c", show], capture_output=True, text=True)
>>> child.stdout.strip()
'0'
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

#: The environment of the children started under :func:`reproducible_children`.
CHILD_ENVIRONMENT: dict[str, str] = {
    "PYTHONHASHSEED": "0",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
}


@contextmanager
def reproducible_children() -> Iterator[None]:
    """Start child processes with :data:`CHILD_ENVIRONMENT` inside the block, then
    restore this process's environment."""
    before = {name: os.environ.get(name) for name in CHILD_ENVIRONMENT}
    os.environ.update(CHILD_ENVIRONMENT)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
