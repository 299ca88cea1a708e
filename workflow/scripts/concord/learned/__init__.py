"""A coder that learns from the human coders (issue #15).

Trained per study on the units the human coders coded (the consensus by default),
cross-validated by session, calibrated, abstaining when unsure, and reported as one
more rater (``learned``) beside the humans and the keyword coder. ``model``: features,
classifiers, calibration, folds; ``stage``: training data, evaluation, the "code these
next" list; ``registry``: its numbers for the manuscript. See docs/learned.md.
"""
