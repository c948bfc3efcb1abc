"""The shared training loop and the per-family training tasks that plug into it."""
