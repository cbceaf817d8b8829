"""Datasets: built-in sources (demo, FER-2013, CK+, image folders), label mapping, splits, cache, de-duplication."""
