"""Processors: the async stage between sources and sinks (``pipeline/processor.py``)."""
