"""A raw-video mini benchmark: 4 UCF classes, 15 clips listed in the split
csv files, written with PyAV. One clip has no audio stream, one file is not
a video, one listed clip has no file."""
import os
import os.path as osp

from stftbox.extractors.synthetic import write_clip

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_CFG = osp.join(REPO, 'configs', '_base_', 'extractors',
                    'clipclap_tiny_random.py')


CLASSES = ['Archery', 'Basketball', 'Biking', 'Bowling']
#: feature split -> class -> clips
CLIPS = {
    'stage_1_train': {'Archery': ['v_Archery_g01_c01', 'v_Archery_g01_c02'],
                      'Basketball': ['v_Basketball_g01_c01',
                                     'v_Basketball_g01_c02']},
    'stage_1_val_seen': {'Archery': ['v_Archery_g02_c01'],
                         'Basketball': ['v_Basketball_g02_c01']},
    'stage_1_val_unseen': {'Biking': ['v_Biking_g01_c01',
                                      'v_Biking_g01_c02']},
    'stage_2_test_seen': {'Archery': ['v_Archery_g03_c01',
                                      'v_Archery_g03_c02'],
                          'Basketball': ['v_Basketball_g03_c01'],
                          'Biking': ['v_Biking_g02_c01']},
    'stage_2_test_unseen': {'Bowling': ['v_Bowling_g01_c01',
                                        'v_Bowling_g01_c02',
                                        'v_Bowling_g01_c03']},
}
NO_AUDIO = 'v_Biking_g01_c02'
UNREADABLE = 'v_Archery_g03_c02'
MISSING = 'v_Bowling_g01_c03'
TXT = {'stage_1_train': ['Archery', 'Basketball'],
       'stage_1_val_seen': ['Archery', 'Basketball'],
       'stage_1_val_unseen': ['Biking'],
       'stage_2_train': ['Archery', 'Basketball', 'Biking'],
       'stage_2_test_seen': ['Archery', 'Basketball', 'Biking'],
       'stage_2_test_unseen': ['Bowling']}
COLORS = {'Archery': (220, 30, 30), 'Basketball': (30, 220, 30),
          'Biking': (30, 30, 220), 'Bowling': (220, 220, 30)}
TONES = {'Archery': 300.0, 'Basketball': 600.0, 'Biking': 900.0,
         'Bowling': 1200.0}


def write_class_split(root):
    os.makedirs(root)
    with open(osp.join(root, 'all_class.txt'), 'w') as f:
        f.write('\n'.join(CLASSES) + '\n')
    with open(osp.join(root, 'ucf_w2v_class_names.csv'), 'w') as f:
        f.write('original,manual\n')
        for c in CLASSES:
            f.write(f'{c},{c.lower()}\n')
    for kind in ('cls_split', 'main_split'):
        os.makedirs(osp.join(root, kind))
        for split, classes in TXT.items():
            with open(osp.join(root, kind, f'{split}.txt'), 'w') as f:
                f.write('\n'.join(classes) + '\n')
            if split == 'stage_2_train':
                rows = {c: v for s in ('stage_1_train', 'stage_1_val_seen',
                                       'stage_1_val_unseen')
                        for c, v in CLIPS[s].items()}
            else:
                rows = CLIPS[split]
            with open(osp.join(root, kind, f'{split}.csv'), 'w') as f:
                f.write('filename,label,label_code\n')
                for c, clips in rows.items():
                    for clip in clips:
                        f.write(f'{clip},{c},{CLASSES.index(c)}\n')


def write_raw_benchmark(base):
    """``dict(videos=folder, class_split=folder)``."""
    videos = base / 'videos'
    for split, per in CLIPS.items():
        for cls, clips in per.items():
            os.makedirs(videos / cls, exist_ok=True)
            for i, clip in enumerate(clips):
                path = videos / cls / f'{clip}.avi'
                if clip == MISSING:
                    continue
                if clip == UNREADABLE:
                    path.write_bytes(b'not a video at all' * 10)
                    continue
                write_clip(path, seconds=2.0 + 0.5 * (i % 2),
                           audio=clip != NO_AUDIO, color=COLORS[cls],
                           tone=TONES[cls])
    split = base / 'class-split'
    write_class_split(str(split))
    return dict(videos=str(videos), class_split=str(split))
