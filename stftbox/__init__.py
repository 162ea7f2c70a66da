"""stftbox: audio-visual (generalised) zero-shot learning with spiking neural
networks, built on mmengine. Reference model: STFT, the Spiking Tucker Fusion
Transformer (Li, Wang, Xiong, Fan, IEEE TIP 2024, arXiv 2407.08130)."""
__version__ = '0.1.0'
