"""Decoding of video frames and audio with PyAV (FFmpeg bindings).

* :func:`probe_media` -- duration and streams of a file;
* :func:`decode_frames` -- RGB frames shown at given times (one sequential
  pass over the video stream, no seeking: the same file gives the same
  frames on every machine);
* :func:`decode_audio` -- mono float32 waveform resampled to a model's rate
  with FFmpeg's resampler (``av.AudioResampler``), or ``None`` when the file
  has no audio stream (the caller applies the silent-audio rule, see
  :func:`silent_waveform`).

Errors are :class:`MediaDecodeError` with the file name and the reason; a
conversion loop catches them per clip and lists the file as unreadable.
"""
import os.path as osp
from fractions import Fraction
from typing import Dict, Optional, Sequence

import numpy as np

__all__ = ['MediaDecodeError', 'MediaInfo', 'probe_media', 'decode_frames',
           'decode_audio', 'silent_waveform', 'VIDEO_EXTENSIONS']

#: file endings treated as raw media by the converters and the demo
VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mkv', '.webm', '.mov', '.m4v', '.flv',
                    '.mpg', '.mpeg', '.wmv', '.3gp', '.ogv')


class MediaDecodeError(ValueError):
    """A media file cannot be read (missing, not a media file, no video
    stream, no decodable frame); the message starts with the path."""


class MediaInfo(dict):
    """``dict(duration=float seconds, has_video=bool, has_audio=bool,
    fps=float | None)`` of :func:`probe_media`."""


def _open(path: str):
    import av
    if not osp.isfile(path):
        raise MediaDecodeError(f'{path}: file not found')
    try:
        return av.open(path)
    except Exception as exc:  # av.error.* (FFmpeg) or OSError
        raise MediaDecodeError(f'{path}: cannot open as media '
                               f'({type(exc).__name__}: {exc})') from exc


def _seconds(value, time_base) -> Optional[float]:
    if value is None or time_base is None:
        return None
    return float(value * Fraction(time_base))


def probe_media(path: str) -> MediaInfo:
    """Streams and duration of a media file (container header only).

    Duration: the video stream's, else the container's, else the audio
    stream's (seconds, ``0.0`` when none is known).

    Raises:
        MediaDecodeError: missing or unreadable file.
    """
    import av
    with _open(path) as c:
        v = c.streams.video[0] if c.streams.video else None
        a = c.streams.audio[0] if c.streams.audio else None
        dur = None
        if v is not None:
            dur = _seconds(v.duration, v.time_base)
        if dur is None and c.duration is not None:
            dur = float(c.duration) / av.time_base
        if dur is None and a is not None:
            dur = _seconds(a.duration, a.time_base)
        fps = float(v.average_rate) if v is not None and v.average_rate \
            else None
        return MediaInfo(duration=float(dur or 0.0), has_video=v is not None,
                         has_audio=a is not None, fps=fps)


def decode_frames(path: str, times: Sequence[float]
                  ) -> Dict[float, np.ndarray]:
    """RGB frames shown at ``times`` (seconds from the stream start).

    The frame shown at ``t`` is the last decoded frame whose presentation
    time is ``<= t`` (the first frame for ``t`` before it, the last frame for
    ``t`` after the end). One sequential pass, stopping after the last
    requested time. A decoding error before every requested time is
    served raises (no frame is repeated over a broken stretch).

    Args:
        path: media file.
        times: requested times in seconds.

    Returns:
        dict time -> ``uint8 [H, W, 3]`` RGB array.

    Raises:
        MediaDecodeError: unreadable file, no video stream, no frame, or
            a decoding error before the last requested time.
    """
    want = sorted(set(float(t) for t in times))
    out: Dict[float, np.ndarray] = {}
    if not want:
        return out
    with _open(path) as c:
        if not c.streams.video:
            raise MediaDecodeError(f'{path}: no video stream')
        stream = c.streams.video[0]
        stream.thread_type = 'AUTO'  # frame/slice threads; same frames
        start = _seconds(stream.start_time, stream.time_base) or 0.0
        prev, i = None, 0
        try:
            for frame in c.decode(stream):
                pts = _seconds(frame.pts, frame.time_base)
                t = (pts - start) if pts is not None else 0.0
                if prev is None and t > want[i]:
                    prev = frame  # times before the first frame
                while i < len(want) and t > want[i]:
                    out[want[i]] = prev.to_ndarray(format='rgb24')
                    i += 1
                if i == len(want):
                    break
                prev = frame
        except Exception as exc:  # av.error.* while decoding
            # a broken stream is an unreadable clip, even after some
            # frames: the times not served yet must not get a stale frame
            where = '' if prev is None else \
                f' after {len(out)} of {len(want)} requested frames'
            raise MediaDecodeError(
                f'{path}: cannot decode video{where} '
                f'({type(exc).__name__}: {exc})') from exc
        if prev is None:
            raise MediaDecodeError(f'{path}: no decodable video frame')
        if i < len(want):
            last = prev.to_ndarray(format='rgb24')
            for t in want[i:]:
                out[t] = last
    return out


def decode_audio(path: str, sample_rate: int) -> Optional[np.ndarray]:
    """Mono float32 waveform of the first audio stream at ``sample_rate``.

    Channels are mixed down and the rate converted by FFmpeg's resampler
    (``av.AudioResampler(format='flt', layout='mono', rate=...)``).

    Args:
        path: media file.
        sample_rate: target rate in Hz (the audio model's).

    Returns:
        ``float32 [S]`` samples in ``[-1, 1]``, or ``None`` if the file has
        no audio stream (see :func:`silent_waveform`).

    Raises:
        MediaDecodeError: unreadable file or audio stream.
    """
    import av
    with _open(path) as c:
        if not c.streams.audio:
            return None
        stream = c.streams.audio[0]
        resampler = av.AudioResampler(format='flt', layout='mono',
                                      rate=int(sample_rate))
        chunks = []
        try:
            for frame in c.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):  # flush
                chunks.append(out.to_ndarray().reshape(-1))
        except Exception as exc:
            raise MediaDecodeError(f'{path}: cannot decode audio '
                                   f'({type(exc).__name__}: {exc})') from exc
    if not chunks:
        return np.zeros(0, np.float32)
    return np.concatenate(chunks).astype(np.float32, copy=False)


def silent_waveform(duration: float, sample_rate: int) -> np.ndarray:
    """The silent-audio rule for clips without an audio stream: zeros as
    long as the video (``round(duration * sample_rate)`` samples, at least
    one). The audio model then embeds silence, as it would a muted clip."""
    return np.zeros(max(1, int(round(duration * sample_rate))), np.float32)
