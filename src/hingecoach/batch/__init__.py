"""Cohorts: many recordings analysed in one run, on this machine or a Dask cluster.

``plan_batch`` turns inputs (files, folders, globs) and an optional manifest into jobs,
reading no recording; ``run_batch`` sends the jobs that are new or changed to Dask
workers, which read and analyse their own files with the library's ``analyze_file``,
and writes Parquet tables in the output folder as results arrive (each part under a
temporary name, then renamed), so a run killed at any moment loses nothing written and
the next run over the same folder analyses only what is left.
"""

from hingecoach.batch.engine import BatchOptions, BatchReport, run_batch
from hingecoach.batch.plan import BatchError, Job, Plan, plan_batch, read_manifest

__all__ = ["BatchError", "BatchOptions", "BatchReport", "Job", "Plan", "plan_batch", "read_manifest", "run_batch"]
