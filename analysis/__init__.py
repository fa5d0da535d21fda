"""Outcome statistics as pure functions: mart DataFrames in, JSON-able dicts out (plain floats/ints, None for
missing, unrounded). ``analysis.outcomes.compute_outcomes`` assembles them all; ``analysis.formatting`` formats
numbers for the report."""
