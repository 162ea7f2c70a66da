"""CLAP audio features (transformers ``ClapModel``, LAION CLAP).

ClipClap-GZSL's recipe (CVPRW 2024) embeds 10 s of mono audio centred on
the clip, zero-padded when the clip is shorter (their CLAP is WavCaps'
HTSAT-BERT, not in transformers; the default here is LAION's
``laion/clap-htsat-unfused``, 512-d). With ``hop_seconds`` set the window
slides instead (the temporal layout).
"""
from typing import List, Optional

import numpy as np
import torch

from stftbox.registry import EXTRACTORS
from .decode import decode_audio, probe_media, silent_waveform
from .hf import config_to_dict, load_model, pooled

__all__ = ['CLAPAudioExtractor', 'audio_windows']


def audio_windows(wave: np.ndarray, sample_rate: int, window_seconds: float,
                  hop_seconds: Optional[float] = None) -> List[np.ndarray]:
    """Cut a waveform into the windows the CLAP extractor embeds.

    * ``hop_seconds=None``: one window of ``window_seconds`` centred on the
      clip: samples ``[c - W/2, c + W/2)`` with ``c = len / 2``, zeros
      outside the clip (a longer clip is centre-cropped, a shorter one
      zero-padded on both sides).
    * else: windows ``[k * hop, k * hop + W)`` seconds for ``k < max(1,
      floor((duration - W) / hop) + 1)``, zero-padded at the end.

    Args:
        wave: ``float32 [S]`` mono samples.
        sample_rate: Hz.
        window_seconds: ``W``.
        hop_seconds: slide of the temporal variant.

    Returns:
        list of ``float32 [round(W * sample_rate)]`` arrays.
    """
    n = max(1, int(round(window_seconds * sample_rate)))
    wave = np.asarray(wave, np.float32).reshape(-1)
    if hop_seconds is None:
        start = len(wave) // 2 - n // 2
        starts = [start]
    else:
        hop = max(1, int(round(hop_seconds * sample_rate)))
        count = max(1, (len(wave) - n) // hop + 1) if len(wave) >= n else 1
        starts = [k * hop for k in range(count)]
    out = []
    for s in starts:
        win = np.zeros(n, np.float32)
        lo, hi = max(0, s), min(len(wave), s + n)
        if hi > lo:
            win[lo - s:hi - s] = wave[lo:hi]
        out.append(win)
    return out


@EXTRACTORS.register_module()
class CLAPAudioExtractor:
    """CLAP audio embeddings over fixed windows.

    ``encode_waveform``: :func:`audio_windows` -> ``ClapFeatureExtractor``
    (log-mel at the model's sampling rate) -> ``ClapModel.
    get_audio_features`` (HTSAT + projection) -> L2 normalisation.

    Args:
        model (str, optional): Hub id or folder, default
            ``'laion/clap-htsat-unfused'`` when ``config`` is not given.
        config (dict | ClapConfig, optional): random init instead (tests).
        processor (dict, optional): ``ClapFeatureExtractor`` kwargs
            (config mode: its ``sampling_rate``, ``feature_size``, ... must
            fit the config's audio tower).
        tokenizer (str, optional): only used by the text encoder.
        init_seed (int): seed of the random init.
        window_seconds (float): window length ``W`` (10 s, ClipClap).
        hop_seconds (float, optional): slide of the temporal variant
            (``None``: one centred window per clip).
        batch_size (int): windows per forward pass.
        device (str): torch device.

    Raises:
        ExtractorModelError: weights not available.
    """

    default_model = 'laion/clap-htsat-unfused'

    def __init__(self, model: Optional[str] = None, config=None,
                 processor: Optional[dict] = None,
                 tokenizer: Optional[str] = None, init_seed: int = 0,
                 window_seconds: float = 10.0,
                 hop_seconds: Optional[float] = None, batch_size: int = 16,
                 device: str = 'cpu'):
        if model is None and config is None:
            model = self.default_model
        if not float(window_seconds) > 0 or (hop_seconds is not None and
                                             not float(hop_seconds) > 0):
            raise ValueError('CLAPAudioExtractor: window_seconds and '
                             'hop_seconds must be > 0, got '
                             f'{window_seconds}, {hop_seconds}')
        self.spec = dict(model=model, config=config_to_dict(config),
                         processor=processor, tokenizer=tokenizer,
                         init_seed=int(init_seed))
        self.window_seconds = float(window_seconds)
        self.hop_seconds = None if hop_seconds is None else float(hop_seconds)
        self.batch_size = int(batch_size)
        self.device = device
        self.model, self.processor, _ = load_model('clap', **self.spec)

    @property
    def sample_rate(self) -> int:
        """Input rate of the model's feature extractor (Hz; 48 kHz for
        LAION CLAP)."""
        return int(self.processor.sampling_rate)

    @property
    def out_channels(self) -> int:
        """Embedding width ``D_a`` (``projection_dim``, 512)."""
        return int(self.model.config.projection_dim)

    @property
    def step_seconds(self) -> Optional[float]:
        return self.hop_seconds

    def to_dict(self) -> dict:
        return dict(type='CLAPAudioExtractor', **self.spec,
                    window_seconds=self.window_seconds,
                    hop_seconds=self.hop_seconds,
                    batch_size=self.batch_size)

    @torch.no_grad()
    def encode_windows(self, windows: List[np.ndarray]) -> np.ndarray:
        """Windows at :attr:`sample_rate` -> ``float32 [N, D_a]``, unit
        L2 rows."""
        self.model.to(self.device)
        out = []
        for s in range(0, len(windows), self.batch_size):
            feats = self.processor(windows[s:s + self.batch_size],
                                   sampling_rate=self.sample_rate,
                                   return_tensors='pt')
            feats = {k: v.to(self.device) for k, v in feats.items()}
            emb = pooled(self.model.get_audio_features(**feats))
            out.append(torch.nn.functional.normalize(emb.float(), dim=-1))
        return torch.cat(out).cpu().numpy().astype(np.float32)

    def encode_waveform(self, wave: np.ndarray) -> np.ndarray:
        """Mono waveform at :attr:`sample_rate` -> ``float32 [T_a, D_a]``
        (``T_a = 1`` without ``hop_seconds``)."""
        return self.encode_windows(audio_windows(
            wave, self.sample_rate, self.window_seconds, self.hop_seconds))

    def load_waveform(self, path: str, duration: Optional[float] = None):
        """``(waveform, silent)``: the decoded audio at :attr:`sample_rate`,
        or -- no audio stream -- the silent-audio rule
        (:func:`~stftbox.extractors.decode.silent_waveform`, zeros as long
        as the video) and ``silent=True``."""
        wave = decode_audio(path, self.sample_rate)
        if wave is not None and len(wave):
            return wave, False
        if duration is None:
            duration = probe_media(path)['duration']
        return silent_waveform(duration, self.sample_rate), True

    def extract(self, path: str, duration: Optional[float] = None
                ) -> np.ndarray:
        """Decode a file's audio and embed it: ``float32 [T_a, D_a]``."""
        return self.encode_waveform(self.load_waveform(path, duration)[0])
