"""Model checker, properties, traces, Z3 proofs and the refinement mapping.

The main entry points::

    from model_check import check
    result = check("model_check/configs/sloppy-crash.toml")   # or a spec.config.Config
    for r in result.results:
        print(r.property, r.verdict, r.trace and len(r.trace.actions))

Note: ``model_check.check`` is the function; import the module's other names
with ``from model_check.check import CheckResult`` (it is in sys.modules).
"""

from model_check.check import CheckError as CheckError
from model_check.check import CheckResult as CheckResult
from model_check.check import PropertyResult as PropertyResult
from model_check.check import Verdict as Verdict
from model_check.check import check as check
from model_check.explorer import Exploration as Exploration
from model_check.explorer import explore as explore
from model_check.properties import PROPERTIES as PROPERTIES
from model_check.properties import Property as Property
from model_check.replay import ReplayReport as ReplayReport
from model_check.replay import replay_on_spec as replay_on_spec
from model_check.trace import Trace as Trace
from model_check.trace import TraceError as TraceError

__all__ = [
    "PROPERTIES",
    "CheckError",
    "CheckResult",
    "Exploration",
    "Property",
    "PropertyResult",
    "ReplayReport",
    "Trace",
    "TraceError",
    "Verdict",
    "check",
    "explore",
    "replay_on_spec",
]
