"""Synthetic deliveries for dibao-monitor, with their hidden ground truth.

`generate(landing, truth, scale, months, seed, start, progress)` simulates a
monitored low-income population month by month (population.py, simulate.py),
renders each month's 民政 / 残联 / 人社 deliveries exactly as
../shared/contracts/sources.md describes them (tables.py, deliver.py), damages
them the way real deliveries are damaged (defects.py, conflicts.py), and writes
what really happened under `truth` (truth.py, dbrb.py).

Landing layout: `<landing>/<source>/<YYYY-MM-DD>/<file>.{csv,xlsx}` + `_READY`.
Re-running over an existing landing deletes its `mz`, `cl` and `rs` folders first
(nothing else in it is touched), so a landing holds one run at a time; the truth
files of a previous run are replaced the same way.

`correct_delivery(landing, source, extract_date, seed, truth)` rewrites one
delivered folder with changed values, to test corrections (deliver.py explains
why a correction cannot be part of the same pass).

Same arguments, same bytes: every random draw comes from a named stream of the
seed (streams.py) and XLSX files carry fixed document dates.
"""

from pipelines.generate.correct import correct_delivery
from pipelines.generate.run import generate
from pipelines.generate.scales import SCALES

__all__ = ["generate", "correct_delivery", "SCALES"]
