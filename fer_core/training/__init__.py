"""Training and evaluation: ``train`` a model plugin on a ``Dataset``, ``evaluate`` a checkpoint.

Importing this package is cheap; torch is imported by the modules that need it.
"""
