"""VQGAN-CLIP (Crowson et al. 2022): steer a VQ model's latent grid toward a prompt by CLIP similarity."""
