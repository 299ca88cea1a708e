"""Concord: reproducible analysis of focus-group research.

One module of pure functions per workflow stage; the Snakemake scripts in
``workflow/scripts/`` are thin wrappers that read ``snakemake.*``, call these
functions and write the outputs.
"""

__version__ = "0.1.0"
