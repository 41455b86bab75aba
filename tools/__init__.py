"""mimir's tools: one per module, registered on an explicit registry by :func:`build_registry`.

Importing this package loads no model weights; heavy models load lazily on first use.
"""
