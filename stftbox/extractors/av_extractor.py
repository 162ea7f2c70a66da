"""``AVFeatureExtractor``: one raw clip -> the audio and video features of
one benchmark layout, plus the class-name encoder that goes with them.

Its :meth:`~AVFeatureExtractor.to_dict` is what
``tools/dataset_converters/extract_features.py`` records in
``features/<method>/extractor.json``; the dataset reader puts it into
``dataset.metainfo['feature_extractor']``, mmengine saves that in every
checkpoint (``meta['dataset_meta']``), and
``inference_model(model, video='clip.mp4')`` rebuilds the same extractor
from it (:func:`build_extractor`).
"""
from typing import Dict, Optional, Sequence

import numpy as np

from stftbox.registry import EXTRACTORS
from .decode import decode_frames, probe_media

__all__ = ['AVFeatureExtractor', 'build_extractor', 'clipclap_extractor',
           'LAYOUTS']

#: the two benchmark layouts written by extract_features.py: feature
#: folder, file format, and how frames / audio windows are taken
LAYOUTS = dict(
    temporal=dict(feature_method='clipclap_features_non_averaged',
                  feature_format='pkl',
                  video_sampler=dict(type='EveryNSeconds', interval=1.0),
                  audio_window=dict(window_seconds=1.0, hop_seconds=1.0)),
    averaged=dict(feature_method='clipclap_features', feature_format='h5',
                  video_sampler=dict(type='MiddleFrame'),
                  audio_window=dict(window_seconds=10.0, hop_seconds=None)))


@EXTRACTORS.register_module()
class AVFeatureExtractor:
    """Video extractor + audio extractor + class-name encoder.

    Args:
        video (dict): e.g. ``dict(type='CLIPImageExtractor', ...)``.
        audio (dict): e.g. ``dict(type='CLAPAudioExtractor', ...)``.
        text (dict): e.g. ``dict(type='CLIPCLAPTextEncoder', ...)``.
        layout (str, optional): ``'temporal'`` or ``'averaged'`` (recorded
            only).
        device (str): torch device of all three.
    """

    def __init__(self, video: dict, audio: dict, text: dict,
                 layout: Optional[str] = None, device: str = 'cpu'):
        self.video = EXTRACTORS.build(dict(video, device=device))
        self.audio = EXTRACTORS.build(dict(audio, device=device))
        self.text_cfg = dict(text)
        self._text = None
        self.layout = layout
        self.device = device

    @property
    def text(self):
        """The class-name encoder (built on first use)."""
        if self._text is None:
            self._text = EXTRACTORS.build(dict(self.text_cfg,
                                               device=self.device))
        return self._text

    def to_dict(self) -> dict:
        """JSON-safe config that rebuilds this extractor."""
        text = self.text.to_dict() if self._text is not None else \
            dict(self.text_cfg)
        return dict(type='AVFeatureExtractor', video=self.video.to_dict(),
                    audio=self.audio.to_dict(), text=text,
                    layout=self.layout)

    def widths(self) -> Dict[str, int]:
        """``dict(audio=D_a, video=D_v, text=D_t)``."""
        return dict(audio=self.audio.out_channels,
                    video=self.video.out_channels,
                    text=self.text.out_channels)

    def step_seconds(self) -> Dict[str, float]:
        """Seconds per step for the dataset config (``1.0`` for one step per
        clip, where it does not matter)."""
        return dict(audio=self.audio.step_seconds or 1.0,
                    video=self.video.step_seconds or 1.0)

    def extract(self, path: str, frames: Optional[dict] = None,
                waveform=None, duration: Optional[float] = None) -> dict:
        """Features of one media file.

        Args:
            path: media file.
            frames: ``{time: uint8 [H, W, 3]}`` already decoded (holding
                this extractor's :meth:`frame_times`), else decoded here.
            waveform: ``(wave, silent)`` at the audio model's rate already
                decoded, else decoded here.
            duration: seconds, else probed.

        Returns:
            ``dict(audio=float32 [T_a, D_a], video=float32 [T_v, D_v],
            silent=bool)``.

        Raises:
            MediaDecodeError: unreadable file, no video stream.
        """
        if duration is None:
            duration = probe_media(path)['duration']
        times = self.video.times(duration)
        if frames is None:
            frames = decode_frames(path, times)
        video = self.video.encode_frames([frames[float(t)] for t in times])
        if waveform is None:
            waveform = self.audio.load_waveform(path, duration)
        audio = self.audio.encode_waveform(waveform[0])
        return dict(audio=audio, video=video, silent=bool(waveform[1]))

    def frame_times(self, duration: float):
        """Where the video frames of a clip are taken, by the video side's
        frame sampler (``MiddleFrame``: ``[duration / 2]``;
        ``EveryNSeconds(interval)``: ``(k + 0.5) * interval`` for
        ``k < max(1, floor(duration / interval))``).

        Args:
            duration (float): clip length in seconds.

        Returns:
            list[float]: ``T_v`` frame times in seconds from the clip start,
            increasing; ``T_v`` is the number of video feature rows
            ``[T_v, D_v]`` :meth:`extract` returns for this clip.

        Raises:
            AttributeError: the video side has no frame sampler
                (``times``), e.g. a custom encoder without one.
        """
        return self.video.times(duration)

    def encode_class_names(self, names: Sequence[str]) -> np.ndarray:
        """``[N, D_t]`` unit-norm class-name embeddings."""
        return self.text.encode(names)


def build_extractor(cfg: dict, device: str = 'cpu'):
    """Build a recorded extractor config (``extractor.json``, checkpoint
    meta) on ``device``.

    Args:
        cfg (dict): an extractor config with ``type`` (default
            ``'AVFeatureExtractor'``; it gets ``device``); the input is not
            changed.
        device (str): torch device of the encoders, e.g. ``'cpu'``.

    Returns:
        the built extractor (e.g. :class:`AVFeatureExtractor`: audio
        ``[T_a, D_a]``, video ``[T_v, D_v]`` and text ``[N, D_t]``
        features).

    Raises:
        KeyError: ``type`` is not registered in ``EXTRACTORS``.
        ValueError / TypeError: bad settings of the built class (its own
            message).
    """
    cfg = dict(cfg)
    if cfg.get('type', 'AVFeatureExtractor') == 'AVFeatureExtractor':
        cfg['type'] = 'AVFeatureExtractor'
        cfg['device'] = device
    return EXTRACTORS.build(cfg)


def clipclap_extractor(layout: str = 'averaged', clip: Optional[dict] = None,
                       clap: Optional[dict] = None, device: str = 'cpu',
                       **overrides) -> AVFeatureExtractor:
    """The CLIP/CLAP extractor of one layout (:data:`LAYOUTS`).

    Args:
        layout: ``'averaged'`` (middle frame, 10 s centred audio; ClipClap)
            or ``'temporal'`` (a frame and a 1 s audio window a second).
        clip, clap: model specs, e.g. ``dict(model='openai/clip-vit-base-
            patch32')`` or ``dict(config={...}, processor={...})``; default
            the models named in the module docs.
        device: torch device.
        **overrides: ``video_sampler=`` / ``audio_window=`` replacing the
            layout's.

    Raises:
        ValueError: unknown layout.
    """
    if layout not in LAYOUTS:
        raise ValueError(f'layout {layout!r}: expected one of '
                         f'{sorted(LAYOUTS)}')
    spec = dict(LAYOUTS[layout], **overrides)
    clip, clap = dict(clip or {}), dict(clap or {})
    return AVFeatureExtractor(
        video=dict(type='CLIPImageExtractor', **clip,
                   sampler=spec['video_sampler']),
        audio=dict(type='CLAPAudioExtractor', **clap,
                   **spec['audio_window']),
        text=dict(type='CLIPCLAPTextEncoder', clip=clip, clap=clap),
        layout=layout, device=device)
