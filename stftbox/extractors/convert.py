"""Raw video folder + class-split files -> a data root in the benchmark
layout (the engine of ``tools/dataset_converters/extract_features.py``).

Output, for ``<out_root>/<Dataset>/`` (docs/data.md, "On-disk layout")::

    class-split/                                  copy of the split files
    features/clipclap_features_non_averaged/      temporal layout (.pkl)
        {audio,video}/<split>/<Class>.pkl         {features, video_names, fps}
        text/word_embeddings_<ds>_normed.npy      CLIP+CLAP class names
        extractor.json                            how they were made
        extract_report.json                       what was missing, split,
                                                  complete or not
    features/clipclap_features/                   averaged layout (.h5)
        {audio,video}/<split>/<Class>.h5          data (N, D), video_urls
        text/..., extractor.json, extract_report.json

Each layout has its own fingerprint (hash of its extractor spec) and its
own report, so a run for one layout never touches the other's. A rerun
whose layouts all have a complete report of the same fingerprint and split
returns at once (one log line).

Resumable and shardable: each clip's features are first written to
``.extract_work/<key>/<clip>.npz`` (or ``<clip>.err.json`` for a file that
cannot be decoded: :class:`MediaDecodeError` or a PyAV error; any other
error stops the run), every write is atomic
(:mod:`stftbox.fileio.atomic_io`), so a killed run leaves only complete
files and a rerun skips the clips already done. A class file is
(re)written once every clip of it is resolved, from the staged clips in csv order, so an interrupted and resumed
run writes the same bytes as an uninterrupted one. Clips are dealt to
shards by position in the sorted clip list (``i % num_shards``).
"""
import csv
import hashlib
import json
import os
import os.path as osp
import pickle
import shutil
import tempfile
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from stftbox.fileio.atomic_io import atomic_write, atomic_write_path

from .av_extractor import LAYOUTS, clipclap_extractor
from .decode import (VIDEO_EXTENSIONS, MediaDecodeError, decode_audio,
                     decode_frames, probe_media, silent_waveform)

__all__ = ['extract_dataset', 'index_videos', 'read_clip_plan',
           'EXTRACTOR_JSON', 'REPORT_JSON', 'WORK_DIR']

EXTRACTOR_JSON = 'extractor.json'
REPORT_JSON = 'extract_report.json'
WORK_DIR = '.extract_work'
#: feature folders written (stage_2_train reads the stage-1 folders)
FEATURE_SPLITS = ('stage_1_train', 'stage_1_val_seen', 'stage_1_val_unseen',
                  'stage_2_test_seen', 'stage_2_test_unseen')


# ---------------------------------------------------------------------------
# atomic writes

def _atomic(path: str, write: Callable, mode: str = 'wb') -> None:
    """Write through ``write(fileobj)`` atomically
    (:func:`stftbox.fileio.atomic_io.atomic_write`: temporary sibling,
    fsync, ``os.replace``, umask permissions)."""
    with atomic_write(path, mode) as f:
        write(f)


def _atomic_json(path: str, obj) -> None:
    text = json.dumps(obj, indent=1, sort_keys=True) + '\n'
    _atomic(path, lambda f: f.write(text), mode='w')


def _atomic_pickle(path: str, obj) -> None:
    _atomic(path, lambda f: pickle.dump(obj, f, protocol=4))


def _atomic_npy(path: str, obj) -> None:
    _atomic(path, lambda f: np.save(f, obj, allow_pickle=True))


def _atomic_h5(path: str, data: np.ndarray, names: Sequence[str]) -> None:
    import h5py
    with atomic_write_path(path) as tmp:
        with h5py.File(tmp, 'w', libver='earliest') as f:
            f.create_dataset('data', data=data, track_times=False)
            f.create_dataset('video_urls',
                             data=np.array([n.encode('utf-8')
                                            for n in names], dtype='S'),
                             track_times=False)


# ---------------------------------------------------------------------------
# inputs

def index_videos(video_dir: str) -> Dict[str, str]:
    """``clip name (file stem) -> path`` of every media file under
    ``video_dir`` (recursive, :data:`VIDEO_EXTENSIONS`, sorted walk; the
    first of two files with one stem wins)."""
    out: Dict[str, str] = {}
    for dp, dirs, files in os.walk(video_dir):
        dirs.sort()
        for f in sorted(files):
            stem, ext = osp.splitext(f)
            if ext.lower() in VIDEO_EXTENSIONS:
                out.setdefault(stem, osp.join(dp, f))
    return out


def read_clip_plan(class_split_dir: str, split: str):
    """``{feature split: {class: [clip names in csv order]}}`` and
    ``{feature split: [classes of its .txt]}`` of one split kind.

    Raises:
        DatasetError: missing ``.csv``/``.txt``, a label not in
            ``all_class.txt``.
    """
    from stftbox.datasets.class_splits import (ClassIndex, read_class_list,
                                               read_split_csv_labels)
    from stftbox.datasets.errors import DatasetError
    all_path = osp.join(class_split_dir, 'all_class.txt')
    index = ClassIndex(read_class_list(all_path, 'all-class list'), all_path)
    plan, listed = {}, {}
    for name in FEATURE_SPLITS:
        txt = osp.join(class_split_dir, split, f'{name}.txt')
        listed[name] = [index.names[index.resolve(c, txt)]
                        for c in read_class_list(txt, 'split file')]
        path = osp.join(class_split_dir, split, f'{name}.csv')
        read_split_csv_labels(path)  # raises on a missing file / column
        per: Dict[str, List[str]] = {}
        with open(path, encoding='utf-8', newline='') as f:
            reader = csv.DictReader(f)
            if 'filename' not in (reader.fieldnames or []):
                raise DatasetError(f'{path}: no filename column '
                                   f'({reader.fieldnames})')
            for row in reader:
                cls = index.names[index.resolve(row['label'].strip(), path)]
                clip = osp.splitext(row['filename'].strip())[0] \
                    if osp.splitext(row['filename'].strip())[1].lower() \
                    in VIDEO_EXTENSIONS else row['filename'].strip()
                clips = per.setdefault(cls, [])
                if clip not in clips:
                    clips.append(clip)
        plan[name] = per
    return plan, listed, index


# ---------------------------------------------------------------------------
# the run

def _fingerprint(extractor) -> str:
    """16 hex digits of one layout's extractor spec (``to_dict()``): the
    same models and settings give the same fingerprint whichever other
    layouts a run extracts with it."""
    text = json.dumps(extractor.to_dict(), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _work_key(fps: Dict[str, str]) -> str:
    """Staging folder name of a run: its layouts' fingerprints (one staged
    ``.npz`` holds the features of every layout of the run)."""
    text = ','.join(f'{k}:{v}' for k, v in sorted(fps.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _report_path(root: str, layout: str) -> str:
    return osp.join(root, 'features', LAYOUTS[layout]['feature_method'],
                    REPORT_JSON)


def _read_json(path: str) -> Optional[dict]:
    try:
        with open(path, encoding='utf-8') as f:
            obj = json.load(f)
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


def _extract_clip(path: str, extractors: Dict[str, object]) -> dict:
    """Decode once, embed for every layout."""
    info = probe_media(path)
    if not info['has_video']:
        raise MediaDecodeError(f'{path}: no video stream')
    dur = info['duration']
    times = sorted({float(t) for e in extractors.values()
                    for t in e.frame_times(dur)})
    frames = decode_frames(path, times)
    waves = {}
    out = {}
    silent = False
    for name, ex in sorted(extractors.items()):
        sr = ex.audio.sample_rate
        if sr not in waves:
            wave = decode_audio(path, sr)
            if wave is None or not len(wave):
                waves[sr] = (silent_waveform(dur, sr), True)
            else:
                waves[sr] = (wave, False)
        res = ex.extract(path, frames=frames, waveform=waves[sr],
                         duration=dur)
        out[f'{name}_audio'] = res['audio']
        out[f'{name}_video'] = res['video']
        silent = silent or res['silent']
    out['silent'] = np.array(silent)
    return out


def _status(work: str, clip: str) -> Optional[str]:
    if osp.isfile(osp.join(work, clip + '.npz')):
        return 'ok'
    if osp.isfile(osp.join(work, clip + '.err.json')):
        return 'error'
    return None


def _safe_name(clip: str) -> str:
    return clip.replace(os.sep, '__')


def extract_dataset(video_dir: str, out_root: str, dataset: str,
                    class_split_dir: Optional[str] = None,
                    split: str = 'cls_split',
                    layouts: Sequence[str] = ('temporal', 'averaged'),
                    clip: Optional[dict] = None, clap: Optional[dict] = None,
                    device: str = 'cpu', num_shards: int = 1,
                    shard_id: int = 0, retry_failed: bool = True,
                    keep_work: bool = False, progress: bool = True,
                    on_clip: Optional[Callable[[int], None]] = None,
                    log: Callable[[str], None] = print) -> dict:
    """Extract CLIP/CLAP features of a raw video folder into the benchmark
    layout (see the module docstring).

    Args:
        video_dir: raw videos, any depth; a clip is found by its csv
            ``filename`` (file stem).
        out_root: plays ``avgzsl_benchmark_non_averaged_datasets/``; the
            data root is ``<out_root>/<Dataset>``.
        dataset: ``ucf`` | ``vggsound`` | ``activitynet``.
        class_split_dir: ``<Dataset>/class-split`` to use (default the one
            bundled with stftbox; only UCF is bundled).
        split: ``cls_split`` (ClipClap's) or ``main_split``.
        layouts: subset of ``('temporal', 'averaged')``.
        clip, clap: model specs (``dict(model=id)`` or ``dict(config=...,
            processor=...)``); default the real default models.
        device: torch device.
        num_shards, shard_id: this process extracts clips ``i`` with ``i %
            num_shards == shard_id``.
        retry_failed: retry clips recorded as unreadable by an earlier run.
        keep_work: keep ``.extract_work/`` after a complete single-shard
            run.
        progress: tqdm bar over this shard's clips.
        on_clip: called with the number of clips extracted so far in this
            call, after each clip's result is safely written (progress
            hooks; the tests kill the run from here).
        log: line printer.

    Returns:
        dict: the report (also written, with ``layout``, ``fingerprint``
        and ``feature_method``, to ``features/<method>/extract_report.json``
        of each layout; ``reports`` lists those paths): ``clips``,
        ``extracted``, ``silent_audio`` (clip names),
        ``unreadable`` (``{clip: reason}``), ``missing_videos`` (clip
        names), ``pending`` (clips of other shards not done yet),
        ``empty_class_files``, ``complete``, ``data_root``.

    Raises:
        ValueError: bad shard ids, unknown layout or dataset.
        DatasetError: class-split files missing or inconsistent.
        ExtractorModelError: model weights not available.
        Exception: any error of a clip other than a decoding one (model,
            device, out of memory) propagates; the clip stays pending.
    """
    from stftbox.datasets.class_embeddings import word_embeddings_name
    from stftbox.datasets.class_splits import read_w2v_names, w2v_csv_name
    from stftbox.datasets.surrogate import bundled_class_split_dir
    from stftbox.datasets.avgzsl_layout import DATASET_DIRS, canonical_dataset
    from stftbox.utils.progress import track

    if not (int(num_shards) >= 1 and 0 <= int(shard_id) < int(num_shards)):
        raise ValueError(f'shard {shard_id} of {num_shards}: expected '
                         '0 <= shard_id < num_shards')
    bad = [x for x in layouts if x not in LAYOUTS]
    if bad or not layouts:
        raise ValueError(f'layouts {list(layouts)}: expected a non-empty '
                         f'subset of {sorted(LAYOUTS)}')
    if not osp.isdir(video_dir):
        raise FileNotFoundError(f'{video_dir}: video folder not found')
    ds_dir = DATASET_DIRS[canonical_dataset(dataset)]
    src = class_split_dir or bundled_class_split_dir(ds_dir)
    root = osp.join(out_root, ds_dir)
    plan, listed, index = read_clip_plan(src, split)
    manual = dict(read_w2v_names(osp.join(src, w2v_csv_name(ds_dir))))

    extractors = {name: clipclap_extractor(name, clip=clip, clap=clap,
                                           device=device)
                  for name in sorted(set(layouts))}
    fps = {name: _fingerprint(ex) for name, ex in extractors.items()}
    reports = {name: _report_path(root, name) for name in extractors}

    # a complete method folder of the same extractor and split: done
    old = {name: _read_json(path) for name, path in reports.items()}
    if all(r is not None and r.get('complete') is True
           and r.get('fingerprint') == fps[name] and r.get('split') == split
           for name, r in old.items()):
        log(f'{ds_dir}: features of {", ".join(sorted(extractors))} '
            f'already complete for {split} (same extractor); nothing to do '
            f'(delete {" and ".join(sorted(reports.values()))} to extract '
            'again)')
        first = old[sorted(old)[0]]
        return dict(first, data_root=root, extracted=0,
                    shard=[int(shard_id), int(num_shards)],
                    reports=[reports[n] for n in sorted(reports)])

    work = osp.join(root, WORK_DIR, _work_key(fps))
    os.makedirs(work, exist_ok=True)

    # class-split copy (atomic: a complete copy or none)
    split_dst = osp.join(root, 'class-split')
    if not osp.isdir(split_dst):
        tmp = tempfile.mkdtemp(prefix='.class-split.', dir=root)
        shutil.copytree(src, osp.join(tmp, 'class-split'))
        try:
            os.rename(osp.join(tmp, 'class-split'), split_dst)
        except OSError:
            if not osp.isdir(split_dst):
                raise
        shutil.rmtree(tmp, ignore_errors=True)

    # extractor records (identical bytes from every shard)
    for name, ex in extractors.items():
        method = LAYOUTS[name]['feature_method']
        rec_path = osp.join(root, 'features', method, EXTRACTOR_JSON)
        record = dict(extractor=ex.to_dict(), layout=name,
                      feature_method=method,
                      feature_format=LAYOUTS[name]['feature_format'],
                      split=split, dataset_name=ds_dir,
                      widths=ex.widths(), step_seconds=ex.step_seconds(),
                      fingerprint=fps[name])
        if osp.isfile(rec_path):
            with open(rec_path, encoding='utf-8') as f:
                prev = json.load(f)
            if prev.get('fingerprint') != fps[name]:
                raise ValueError(
                    f'{rec_path}: features of another extractor '
                    f'(fingerprint {prev.get("fingerprint")}, now '
                    f'{fps[name]}); use another --out-root or delete that '
                    'folder')
        _atomic_json(rec_path, record)

    # until this run ends, each method folder it writes says it is
    # incomplete (the dataset reader refuses it); the final report
    # replaces this. Other method folders keep their own reports.
    for name, path in reports.items():
        _atomic_json(path, dict(complete=False, split=split,
                                fingerprint=fps[name],
                                note='extraction running or interrupted; '
                                'rerun extract_features.py'))
    videos = index_videos(video_dir)
    all_clips = sorted({c for per in plan.values() for cs in per.values()
                        for c in cs})
    mine = [c for i, c in enumerate(all_clips)
            if i % int(num_shards) == int(shard_id)]
    missing = [c for c in all_clips if c not in videos]
    todo = []
    for c in mine:
        if c not in videos:
            continue
        st = _status(work, _safe_name(c))
        if st == 'error' and retry_failed:
            os.remove(osp.join(work, _safe_name(c) + '.err.json'))
            st = None
        if st is None:
            todo.append(c)
    log(f'{ds_dir}: {len(all_clips)} clips in {split}, {len(mine)} in '
        f'shard {shard_id}/{num_shards}, {len(mine) - len(todo)} done '
        f'before, {len(todo)} to extract; {len(missing)} without a video '
        f'file under {video_dir}')

    # text embeddings: shard 0 writes them (same bytes from any shard)
    if int(shard_id) == 0:
        names = sorted({manual.get(c, c) for c in index.names})
        for name, ex in extractors.items():
            method = LAYOUTS[name]['feature_method']
            emb = ex.encode_class_names(names)
            table = {n: emb[i] for i, n in enumerate(names)}
            _atomic_npy(osp.join(root, 'features', method, 'text',
                                 word_embeddings_name(ds_dir)),
                        np.array(table, dtype=object))

    import av
    done_now = 0
    for c in track(todo, enabled=progress):
        safe = _safe_name(c)
        try:
            arrays = _extract_clip(videos[c], extractors)
        except (MediaDecodeError, av.error.FFmpegError) as exc:
            # unreadable media: list it, go on. Anything else (model,
            # device, out of memory, a bug) stops the run: it is not a
            # property of the clip and must not be recorded as one.
            reason = str(exc) if isinstance(exc, MediaDecodeError) else \
                f'{videos[c]}: {type(exc).__name__}: {exc}'
            _atomic_json(osp.join(work, safe + '.err.json'),
                         dict(clip=c, path=videos[c], reason=reason))
        else:
            _atomic(osp.join(work, safe + '.npz'),
                    lambda f: np.savez(f, **arrays))
        done_now += 1
        if on_clip is not None:
            on_clip(done_now)

    report = _assemble(root, work, plan, listed, extractors, videos,
                       all_clips, split, ds_dir)
    report['extracted'] = done_now
    report['shard'] = [int(shard_id), int(num_shards)]
    stored = {k: v for k, v in report.items()
              if k not in ('extracted', 'shard', 'data_root')}
    for name, path in reports.items():
        _atomic_json(path, dict(stored, layout=name, fingerprint=fps[name],
                                feature_method=LAYOUTS[name][
                                    'feature_method']))
    report['reports'] = [reports[n] for n in sorted(reports)]
    if report['complete'] and int(num_shards) == 1 and not keep_work:
        shutil.rmtree(osp.join(root, WORK_DIR), ignore_errors=True)
    return report


def _assemble(root, work, plan, listed, extractors, videos, all_clips,
              split, ds_dir) -> dict:
    """Write every class file whose clips are all resolved; the report."""
    status = {}
    for c in all_clips:
        status[c] = 'missing' if c not in videos else \
            _status(work, _safe_name(c))
    pending = sorted(c for c, s in status.items() if s is None)
    unreadable = {}
    for c, s in status.items():
        if s == 'error':
            with open(osp.join(work, _safe_name(c) + '.err.json'),
                      encoding='utf-8') as f:
                unreadable[c] = json.load(f)['reason']
    silent, cache, empty = [], {}, []

    def load(c):
        if c not in cache:
            with np.load(osp.join(work, _safe_name(c) + '.npz')) as z:
                cache[c] = {k: z[k] for k in z.files}
        return cache[c]

    written = 0
    for split_name in FEATURE_SPLITS:
        classes = sorted(set(listed[split_name]) | set(plan[split_name]))
        for cls in classes:
            clips = plan[split_name].get(cls, [])
            if any(status[c] is None for c in clips):
                continue
            ok = [c for c in clips if status[c] == 'ok']
            if not ok:
                empty.append(f'{split_name}/{cls}')
            for name, ex in sorted(extractors.items()):
                lay = LAYOUTS[name]
                base = osp.join(root, 'features', lay['feature_method'])
                widths = ex.widths()
                steps = ex.step_seconds()
                for m in ('audio', 'video'):
                    feats = [load(c)[f'{name}_{m}'] for c in ok]
                    path = osp.join(base, m, split_name,
                                    f'{cls}.{lay["feature_format"]}')
                    if lay['feature_format'] == 'pkl':
                        _atomic_pickle(path, dict(
                            features=feats, video_names=list(ok),
                            fps=[1.0 / steps[m]] * len(ok)))
                    else:
                        data = np.concatenate(feats) if feats else \
                            np.zeros((0, widths[m]), np.float32)
                        _atomic_h5(path, data.astype(np.float32), ok)
            written += 1
        cache.clear()
    for c, s in status.items():
        if s == 'ok' and bool(load(c)['silent']):
            silent.append(c)
        cache.pop(c, None)
    return dict(data_root=root, dataset_name=ds_dir, split=split,
                clips=len(all_clips),
                resolved=len(all_clips) - len(pending),
                silent_audio=sorted(silent),
                unreadable=dict(sorted(unreadable.items())),
                missing_videos=sorted(c for c, s in status.items()
                                      if s == 'missing'),
                pending=pending, empty_class_files=sorted(set(empty)),
                complete=not pending)
