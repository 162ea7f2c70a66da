"""Tiny benchmark fixtures in the real on-disk layout (benchmark.md).

Classes (all_class.txt is written unsorted on purpose):
sorted ids Apple 0, Banana 1, Cherry 2, Kiwi 3, Mango 4, Zebra 5.

cls_split lists: stage_1_train / val_seen = Apple, banana (lower-case, like
UCF's HandStandPushups), val_unseen = Cherry, stage_2_train = Apple,
Banana, Cherry, test_seen = Apple, Banana, Cherry, test_unseen = Mango.
Kiwi has feature files but is in no list (dropped); Zebra is unused.

Every clip has a unique number k; audio step t holds k + t / 1000 in
every channel, video step t the same, so tests can check which clip and
which steps they got. Video files list their clips in reverse order.
"""
import csv
import os
import os.path as osp
import pickle

import h5py
import numpy as np

CLASSES = ['Zebra', 'Mango', 'Apple', 'Kiwi', 'Cherry', 'Banana']
SORTED = sorted(CLASSES)
ID = {c: i for i, c in enumerate(SORTED)}
MANUAL = {c: f'{c.lower()} fruit' for c in CLASSES}
LISTS = {
    'stage_1_train': ['Apple', 'banana'],
    'stage_1_val_seen': ['Apple', 'Banana'],
    'stage_1_val_unseen': ['Cherry'],
    'stage_2_train': ['Apple', 'Banana', 'Cherry'],
    'stage_2_test_seen': ['Apple', 'Banana', 'Cherry'],
    'stage_2_test_unseen': ['Mango'],
}
#: feature folder -> class -> number of clips
CLIPS = {
    'stage_1_train': {'Apple': 3, 'Banana': 2, 'Kiwi': 2},
    'stage_1_val_seen': {'Apple': 1, 'Banana': 1},
    'stage_1_val_unseen': {'Cherry': 2},
    'stage_2_test_seen': {'Apple': 1, 'Banana': 1, 'Cherry': 1},
    'stage_2_test_unseen': {'Mango': 2, 'Kiwi': 1},
}
D_A, D_V, D_T = 4, 6, 5
EMB = {MANUAL[c]: np.arange(1, D_T + 1, dtype=np.float32) * (i + 1)
       + np.eye(D_T, dtype=np.float32)[i % D_T] * 10
       for i, c in enumerate(SORTED)}


def clip_lengths(k):
    """(T_a, T_v) of clip k: same duration at 0.96 s / 0.64 s a step."""
    t_a = 3 + k % 4
    return t_a, (t_a * 3) // 2


def clip_array(k, t, d):
    return (k + np.arange(t, dtype=np.float32)[:, None] / 1000.0
            ) * np.ones((1, d), np.float32)


def write_layout(root, fmt='pkl', method='feat', long_clips=None):
    """Write the fixture under ``root`` (the ``<Dataset>/`` folder).

    Returns a dict clip name -> (class, k).
    """
    cs = osp.join(root, 'class-split')
    os.makedirs(osp.join(cs, 'cls_split'))
    with open(osp.join(cs, 'all_class.txt'), 'w') as f:
        f.write('\n'.join(CLASSES) + '\n')
    with open(osp.join(cs, 'ucf_w2v_class_names.csv'), 'w') as f:
        f.write('original,manual\n')
        for c in CLASSES:
            f.write(f'{c},{MANUAL[c]}\n')
    for name, cls in LISTS.items():
        with open(osp.join(cs, 'cls_split', f'{name}.txt'), 'w') as f:
            f.write('\n'.join(cls) + '\n')
    text = osp.join(root, 'features', method, 'text')
    os.makedirs(text)
    np.save(osp.join(text, 'word_embeddings_ucf_normed.npy'),
            np.array(dict(EMB), dtype=object), allow_pickle=True)
    clips, k = {}, 0
    for split, per in CLIPS.items():
        rows = []
        for m in ('audio', 'video'):
            os.makedirs(osp.join(root, 'features', method, m, split))
        for cls, n in per.items():
            feats = {'audio': [], 'video': []}
            names = []
            for _ in range(n):
                name = f'v_{cls}_{k:03d}'
                t_a, t_v = clip_lengths(k)
                if long_clips:
                    t_a, t_v = long_clips
                feats['audio'].append(clip_array(k, t_a, D_A))
                feats['video'].append(clip_array(k, t_v, D_V))
                names.append(name)
                clips[name] = (cls, k)
                rows.append((name, cls, ID[cls]))
                k += 1
            for m, d in (('audio', D_A), ('video', D_V)):
                f_list, n_list = feats[m], list(names)
                if m == 'video':  # other order: must be matched by name
                    f_list, n_list = f_list[::-1], n_list[::-1]
                base = osp.join(root, 'features', method, m, split, cls)
                if fmt == 'pkl':
                    with open(base + '.pkl', 'wb') as f:
                        pickle.dump(dict(features=f_list,
                                         video_names=n_list,
                                         fps=[25.0] * len(n_list)), f)
                else:
                    with h5py.File(base + '.h5', 'w') as hf:
                        hf['data'] = np.stack([a[0] for a in f_list])
                        hf['video_urls'] = np.array(
                            [n.encode() for n in n_list])
        with open(osp.join(cs, 'cls_split', f'{split}.csv'), 'w',
                  newline='') as f:
            w = csv.writer(f)
            w.writerow(['filename', 'label', 'label_code'])
            w.writerows(rows)
    return clips


def ds_kwargs(root, **kw):
    base = dict(data_root=root, dataset_name='UCF', feature_method='feat',
                split='cls_split', feature_format='pkl', audio_channels=D_A,
                video_channels=D_V)
    base.update(kw)
    return base
