"""The VQ-VAE family: token grids, the codebook and its usage, editing a grid by hand."""
