"""Graph nodes: plain functions ``(state, runtime) -> partial update``.

One module per step of a turn (intake, classify, gather, resolve, answer), and one per loop:
``loop`` (plan, act, check) and ``llm_loop`` (the tool-calling model and its tools).
"""
