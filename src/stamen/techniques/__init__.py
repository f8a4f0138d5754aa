"""Techniques: saved, typed workflows (a DAG of model and action nodes) run as one run."""
