"""Feature extractors: raw video and audio -> benchmark features.

Registered in :data:`stftbox.registry.EXTRACTORS` and built on
``transformers`` (CLIP, CLAP) and PyAV; see ``docs/data.md``, "Building the
features yourself".
"""
from .av_extractor import (LAYOUTS, AVFeatureExtractor, build_extractor,
                           clipclap_extractor)
from .clap_audio import CLAPAudioExtractor, audio_windows
from .clip_image import CLIPImageExtractor, EveryNSeconds, MiddleFrame
from .convert import extract_dataset
from .decode import (VIDEO_EXTENSIONS, MediaDecodeError, decode_audio,
                     decode_frames, probe_media, silent_waveform)
from .hf import ExtractorModelError, load_model
from .text import CLIPCLAPTextEncoder

__all__ = [
    'LAYOUTS', 'AVFeatureExtractor', 'build_extractor', 'clipclap_extractor',
    'CLAPAudioExtractor', 'audio_windows', 'CLIPImageExtractor',
    'EveryNSeconds', 'MiddleFrame', 'extract_dataset', 'VIDEO_EXTENSIONS',
    'MediaDecodeError',
    'decode_audio', 'decode_frames', 'probe_media', 'silent_waveform',
    'ExtractorModelError', 'load_model', 'CLIPCLAPTextEncoder'
]
