"""`fer bench`: train and evaluate every (model, balancer, seed) cell of a grid and report on it.

The grid is a list of independent, serialisable ``Job``s (``jobs.plan_jobs``); an ``Executor``
runs them (``executors.LocalExecutor`` here, a distributed one later) by calling
``jobs.run_job`` for each, and ``runner.run_bench`` ties planning, resuming, running and reporting together.
"""
