"""Model checker, properties, traces, Z3 proofs and the refinement mapping.

The main entry points::

    from model_check import check
    result = check("model_check/configs/sloppy-crash.toml")   # or a spec.config.Config
    for r in result.results:   # always/eventually: holds|violated; sometimes: found|not found
        print(r.property, r.kind, r.verdict, r.trace and len(r.trace.actions))

The checker takes the system it explores as a value (:class:`Model`;
``spec_model(config)`` is the spec's), and each :class:`Property` carries its
expectation: always, eventually or sometimes.

Note: ``model_check.check`` is the function; import the module's other names
with ``from model_check.check import CheckResult`` (it is in sys.modules).
"""

from model_check.check import CheckResult as CheckResult
from model_check.check import PropertyResult as PropertyResult
from model_check.check import Verdict as Verdict
from model_check.check import check as check
from model_check.errors import CheckError as CheckError
from model_check.errors import TraceError as TraceError
from model_check.explorer import Exploration as Exploration
from model_check.explorer import explore as explore
from model_check.explorer import explore_model as explore_model
from model_check.model import Model as Model
from model_check.model import TransitionSystem as TransitionSystem
from model_check.properties import PROPERTIES as PROPERTIES
from model_check.properties import Expectation as Expectation
from model_check.properties import Property as Property
from model_check.replay import replay_on_spec as replay_on_spec
from model_check.replay import where_it_broke as where_it_broke
from model_check.reports import ReplayReport as ReplayReport
from model_check.spec_model import spec_model as spec_model
from model_check.trace import Trace as Trace

__all__ = [
    "PROPERTIES",
    "CheckError",
    "CheckResult",
    "Expectation",
    "Exploration",
    "Model",
    "Property",
    "PropertyResult",
    "ReplayReport",
    "Trace",
    "TraceError",
    "TransitionSystem",
    "Verdict",
    "check",
    "explore",
    "explore_model",
    "replay_on_spec",
    "spec_model",
    "where_it_broke",
]
