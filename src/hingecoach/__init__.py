"""hingecoach: learn and safeguard the hip hinge.

Exercise guidance, not a diagnosis. If back pain persists, or red flags appear, see a
doctor or physical therapist.
"""

from hingecoach.core.errors import HingecoachError, InputError
from hingecoach.core.timeseries import Event, TimeSeries

__all__ = ["Event", "HingecoachError", "InputError", "TimeSeries", "__version__"]
__version__ = "0.1.0"
