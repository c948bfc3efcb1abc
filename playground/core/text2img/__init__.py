"""Prompt-guided diffusion: sampling with guidance, and how well samples follow their prompt."""
