"""Outcome statistics as pure functions: mart DataFrames in, plain dicts out (floats/ints, None for missing,
unrounded). ``analysis.results`` writes every result as rows of the analysis results dataset (``analysis.ard``);
``analysis.outcomes`` reads outcomes.json back from it; ``analysis.formatting`` is the one rounding rule of
everything printed."""
