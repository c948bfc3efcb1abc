"""Networks. `registry` maps a checkpoint's family name to its config and model classes."""
