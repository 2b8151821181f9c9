"""Benchmarks: each script measures Postwise beside a baseline in the same run and prints one JSON
object.
"""
