"""What the note above the latent panel says about each family."""

VAE_NOTE = (
    "<b>VAE.</b> Training pulled every encoding toward the prior N(0, I), so any slider "
    "setting, and any <i>Random</i> draw, decodes to a plausible image. Sliders are sorted by "
    "how much information each dimension carries (KL); grey ones are unused."
)
AE_NOTE = (
    "<b>Plain autoencoder.</b> Same network, no KL term: its codes sit wherever training put "
    "them, not in N(0, I). Press <i>Random</i>: latents drawn from the prior land off the data "
    "and decode to noise and blobs. That gap is why the VAE exists."
)
GAN_NOTE = (
    "<b>GAN.</b> A generator that only maps noise z ~ N(0, I) to images; a discriminator taught it "
    "what shapes look like. There is no encoder, so no image can be encoded: explore z with the sliders, "
    "<i>Random</i> and interpolation, or switch the sliders to <i>directions</i> (GANSpace: the axes "
    "along which the generator's early features vary most)."
)
