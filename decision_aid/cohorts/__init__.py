"""Cohort runs: one knowledge base over many patients, in order, on one machine or a Dask cluster.

- `rows`: a row in (`CohortRow`) and its result out (`Outcome`);
- `sources`: cohorts read from JSONL, CSV or Parquet (`read_cohort`);
- `runner`: `run_cohort`, serially, on a process pool or on Dask distributed;
- `work`: what a worker does (one engine per knowledge base per process, built once);
- `pool`: the local process pool (worker death, signals); `on_dask`: the Dask client side;
- `writers`: results to JSONL or Parquet, written whole or not at all;
- `progress`: the progress line on standard error; `commands`: `decision-aid cohort run`;
- `bench`: the cohort figures of `python -m decision_aid.bench`.
"""
