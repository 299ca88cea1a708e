"""Compatibility module: de-identification lives in the package :mod:`concord.deid`.

``from concord import deidentify as deid`` keeps working for the modules and scripts
that still use it: every name of the package's modules (private helpers included) is
available here. New code imports from :mod:`concord.deid` and its modules. Patching a
flag here (e.g. ``_GATES``) has no effect: patch it in its module
(:mod:`concord.deid.gates`).
"""

from concord.deid import (assemble, common, detect, detectors, evaluate, gates, matcher,  # noqa: F401
                          roster, surrogates)
from concord.deid.detectors import ages, contact, dates, ids, names, places

for _m in (common, matcher, roster, ages, contact, dates, ids, names, places, detectors, gates,
           detect, surrogates, assemble, evaluate):
    globals().update({k: v for k, v in vars(_m).items()
                      if not k.startswith("__") and not isinstance(v, type(common))})
del _m
