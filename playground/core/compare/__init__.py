"""Every generative family side by side: samples from the same seeds, one yardstick, the seeds' claims checked.

families.py (one sampling adapter per family), metrics.py (fidelity, diversity, memorisation),
likelihood.py (bits per dimension), report.py (one row per checkpoint, cached per weights hash),
claims.py (the seeds' table with verdicts), html.py (the text table, the HTML page and its JSON).
"""
