"""Planners behind one interface: ``rules`` (deterministic, the default) and ``llm``."""
