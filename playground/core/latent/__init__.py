"""Latent-variable families (VAE, AE, GAN): prior samples, encoding, interpolation, directions."""
