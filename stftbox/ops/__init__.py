"""Hand-written kernels of STFT's parts, each beside a plain reference."""
