"""Graph nodes: plain functions ``(state, runtime) -> partial update``, one small module each."""
