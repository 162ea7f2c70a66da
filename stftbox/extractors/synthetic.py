"""Synthetic media files written with PyAV, for tests and for timing the
extraction (``tools/analysis_tools/benchmark_extraction.py``): a coloured
square moving over a dark background and a sine tone. Not a data set."""
import av
import numpy as np

__all__ = ['write_clip']


def write_clip(path, seconds=2.0, fps=8, size=32, audio=True,
               sample_rate=16000, tone=440.0, color=(200, 30, 30)):
    """Write a clip: MPEG-4 part 2 video (``.mp4`` / ``.avi`` container),
    ``size`` x ``size`` pixels at ``fps``, a coloured square moving 3 pixels
    a frame; with ``audio`` a mono sine tone of ``tone`` Hz at
    ``sample_rate`` (AAC in .mp4, MP2 otherwise). Deterministic content.

    Returns:
        str: ``path``.
    """
    n = int(round(seconds * fps))
    with av.open(str(path), 'w') as c:
        vs = c.add_stream('mpeg4', rate=fps)
        vs.width = vs.height = size
        vs.pix_fmt = 'yuv420p'
        if audio:
            codec = 'aac' if str(path).endswith('.mp4') else 'mp2'
            as_ = c.add_stream(codec, rate=sample_rate)
            as_.layout = 'mono'
        for i in range(n):
            img = np.full((size, size, 3), 20, np.uint8)
            x = (i * 3) % (size - 8)
            img[8:16, x:x + 8] = color
            for pkt in vs.encode(av.VideoFrame.from_ndarray(img,
                                                            format='rgb24')):
                c.mux(pkt)
        for pkt in vs.encode():
            c.mux(pkt)
        if audio:
            fmt = as_.codec_context.format.name
            t = np.arange(int(seconds * sample_rate)) / sample_rate
            wave = (0.3 * np.sin(2 * np.pi * tone * t)).astype(np.float32)
            step = as_.codec_context.frame_size or 1024
            for s in range(0, len(wave), step):
                chunk = wave[s:s + step]
                if fmt.startswith('s16'):
                    chunk = (chunk * 32767).astype(np.int16)
                frame = av.AudioFrame.from_ndarray(chunk[None], format=fmt,
                                                   layout='mono')
                frame.sample_rate = sample_rate
                frame.pts = s
                for pkt in as_.encode(frame):
                    c.mux(pkt)
            for pkt in as_.encode():
                c.mux(pkt)
    return str(path)
