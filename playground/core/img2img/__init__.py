"""Image to image for every diffusion model (pixel DDPM, text-to-image, ldm, dit, sit).

`img2img.py`: start from an image noised to a strength (SDEdit), the start point's t, noise
level and signal-to-noise ratio; `inversion.py`: DDIM inversion (and the flow ODE run
backwards), the round trip and edits from the inverted noise. Both run the text-to-image
samplers' settings (`text2img.sampling.GuidedSettings`) and model functions.
"""
