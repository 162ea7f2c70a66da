"""CLIP image features of video frames, and the frame samplers.

ClipClap-GZSL (Kurzendörfer et al., CVPRW 2024) embeds the middle frame of
each clip with CLIP ViT-B/32 (512-d, L2-normalised): :class:`MiddleFrame`
+ :class:`CLIPImageExtractor` give that (the averaged layout, ``T = 1``).
:class:`EveryNSeconds` samples one frame every ``s`` seconds instead (the
temporal layout, a sequence for STFT and TCaF).
"""
from typing import List, Optional, Sequence

import numpy as np
import torch

from stftbox.registry import EXTRACTORS
from .decode import decode_frames, probe_media
from .hf import config_to_dict, load_model, pooled

__all__ = ['MiddleFrame', 'EveryNSeconds', 'CLIPImageExtractor']


@EXTRACTORS.register_module()
class MiddleFrame:
    """One frame: the one shown at ``duration / 2`` (ClipClap's recipe)."""

    step_seconds = None

    def times(self, duration: float) -> List[float]:
        """``[duration / 2]`` (seconds)."""
        return [max(0.0, float(duration)) / 2.0]

    def to_dict(self) -> dict:
        return dict(type='MiddleFrame')


@EXTRACTORS.register_module()
class EveryNSeconds:
    """One frame every ``interval`` seconds, at the centre of each step:
    ``t_k = (k + 0.5) * interval`` for ``k < max(1, floor(duration /
    interval))``.

    Args:
        interval (float): seconds per step (> 0); also the feature's
            ``video_step_seconds``.
    """

    def __init__(self, interval: float = 1.0):
        if not float(interval) > 0:
            raise ValueError(f'EveryNSeconds: interval must be > 0 seconds, '
                             f'got {interval}')
        self.interval = float(interval)

    @property
    def step_seconds(self) -> float:
        return self.interval

    def times(self, duration: float) -> List[float]:
        n = max(1, int(np.floor(float(duration) / self.interval + 1e-6)))
        return [(k + 0.5) * self.interval for k in range(n)]

    def to_dict(self) -> dict:
        return dict(type='EveryNSeconds', interval=self.interval)


def _build_sampler(sampler):
    if isinstance(sampler, dict):
        return EXTRACTORS.build(dict(sampler))
    return sampler


@EXTRACTORS.register_module()
class CLIPImageExtractor:
    """CLIP image embeddings of sampled frames (transformers ``CLIPModel``).

    ``encode_frames``: ``CLIPImageProcessor`` (resize, centre crop,
    normalise) -> ``CLIPModel.get_image_features`` (vision tower + visual
    projection) -> L2 normalisation, as CLIP compares images and text.

    Args:
        model (str, optional): Hub id or local folder, default
            ``'openai/clip-vit-base-patch32'`` (512-d) when ``config`` is
            not given.
        config (dict | CLIPConfig, optional): random init instead (tests).
        processor (dict, optional): ``CLIPImageProcessor`` kwargs.
        tokenizer (str, optional): only used by the text encoder; kept so
            one ``clip=dict(...)`` spec serves both.
        init_seed (int): seed of the random init.
        sampler (dict): frame sampler, ``dict(type='MiddleFrame')`` or
            ``dict(type='EveryNSeconds', interval=s)``.
        batch_size (int): frames per forward pass.
        device (str): torch device.

    Raises:
        ExtractorModelError: weights not available (see
            :func:`stftbox.extractors.hf.load_model`).
    """

    default_model = 'openai/clip-vit-base-patch32'

    def __init__(self, model: Optional[str] = None, config=None,
                 processor: Optional[dict] = None,
                 tokenizer: Optional[str] = None, init_seed: int = 0,
                 sampler=dict(type='MiddleFrame'), batch_size: int = 32,
                 device: str = 'cpu'):
        if model is None and config is None:
            model = self.default_model
        self.spec = dict(model=model, config=config_to_dict(config),
                         processor=processor, tokenizer=tokenizer,
                         init_seed=int(init_seed))
        self.sampler = _build_sampler(sampler)
        self.batch_size = int(batch_size)
        self.device = device
        self.model, self.processor, _ = load_model('clip', **self.spec)

    @property
    def out_channels(self) -> int:
        """Embedding width ``D_v`` (``projection_dim``, 512 for ViT-B/32)."""
        return int(self.model.config.projection_dim)

    @property
    def step_seconds(self) -> Optional[float]:
        """Seconds per output step (``None``: one step per clip)."""
        return self.sampler.step_seconds

    def to_dict(self) -> dict:
        """Config dict that rebuilds this extractor (JSON-safe)."""
        return dict(type='CLIPImageExtractor', **self.spec,
                    sampler=self.sampler.to_dict(),
                    batch_size=self.batch_size)

    def times(self, duration: float) -> List[float]:
        """Frame times (seconds) for a clip of ``duration`` seconds."""
        return self.sampler.times(duration)

    @torch.no_grad()
    def encode_frames(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        """``uint8 [H, W, 3]`` RGB frames -> ``float32 [N, D_v]``, unit L2
        rows."""
        self.model.to(self.device)
        out = []
        for s in range(0, len(frames), self.batch_size):
            batch = self.processor(images=list(frames[s:s + self.batch_size]),
                                   return_tensors='pt')
            pix = batch['pixel_values'].to(self.device)
            emb = pooled(self.model.get_image_features(pixel_values=pix))
            out.append(torch.nn.functional.normalize(emb.float(), dim=-1))
        return torch.cat(out).cpu().numpy().astype(np.float32)

    def extract(self, path: str, duration: Optional[float] = None
                ) -> np.ndarray:
        """Decode the sampled frames of a file and embed them:
        ``float32 [T_v, D_v]``.

        Raises:
            MediaDecodeError: unreadable file / no video stream.
        """
        if duration is None:
            duration = probe_media(path)['duration']
        times = self.times(duration)
        frames = decode_frames(path, times)
        return self.encode_frames([frames[float(t)] for t in times])
