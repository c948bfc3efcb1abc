"""Diffusion: noise schedules, schedulers (DDPM, DDIM) and the step-by-step sampling generator.

Schedulers know nothing of the network; the model is passed in on every call.
"""
