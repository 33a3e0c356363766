"""`python -m ops`: look at and repair the pipeline, deployed or local (see ops/cli.py)."""
