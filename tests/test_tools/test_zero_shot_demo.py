"""demo/zero_shot_demo.py on the bundled (surrogate) data with the shipped
demo checkpoint: three class names of one's own choosing."""
import os
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'stft_demo.py')
CKPT = osp.join(REPO, 'checkpoints', 'stft_demo_ucf_surrogate.pth')
ROW = re.compile(r'^\s+(\d+)  (.+?)\s+(\d+\.\d+)$')


def run_demo(args):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, 'demo/zero_shot_demo.py'] + args,
                          cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)


def parse_tables(stdout):
    """clip name -> [(rank, class, distance)]"""
    tables, clip = {}, None
    for line in stdout.splitlines():
        if line.startswith('clip '):
            clip = line[5:]
            tables[clip] = []
        elif ROW.match(line):
            r, name, d = ROW.match(line).groups()
            tables[clip].append((int(r), name.strip(), float(d)))
    return tables


def test_zero_shot_demo_three_names(surrogate_root):
    feats = osp.join(surrogate_root, 'features', 'surrogate_temporal',
                     'audio', 'stage_2_test_unseen', 'PlayingSitar.pkl')
    res = run_demo([feats, CONFIG, CKPT, '--classes',
                    'Playing Sitar, Brushing Teeth,Surfing', '--topk', '3'])
    assert res.returncode == 0, res.stderr[-3000:]
    tables = parse_tables(res.stdout)
    assert len(tables) == 4  # the fixture writes 4 clips per class
    for rows in tables.values():
        assert [r for r, _, _ in rows] == [1, 2, 3]
        assert {n for _, n, _ in rows} == {
            'Playing Sitar', 'Brushing Teeth', 'Surfing (seen)'}
        dists = [d for _, _, d in rows]
        assert dists == sorted(dists)

    # the name of a split class, embedded on the fly, gets the distance of
    # the dataset (test) path, which uses the stored class embedding
    from stftbox.apis import init_model
    from stftbox.apis.inference import load_clip_features
    model = init_model(CONFIG, CKPT)
    audio, video, names = load_clip_features(feats)
    cid = model.dataset_meta['classes'].index('PlayingSitar')
    for a, v, name in zip(audio, video, names):
        inputs = dict(
            audio=torch.from_numpy(a[None]), video=torch.from_numpy(v[None]),
            audio_padding_mask=torch.zeros(1, len(a), dtype=torch.bool),
            video_padding_mask=torch.zeros(1, len(v), dtype=torch.bool))
        with torch.no_grad():
            want = model(inputs, mode='predict')[0]['distances'][cid]
        got = dict((n, d) for _, n, d in tables[name])['Playing Sitar']
        assert np.isclose(got, float(want), atol=2e-3), (name, got, want)


def test_zero_shot_demo_missing_file(tmp_path):
    res = run_demo([str(tmp_path / 'audio' / 'x.pkl'), CONFIG, CKPT,
                    '--classes', 'a,b'])
    assert res.returncode == 1
    assert res.stderr.splitlines()[0].startswith('error: feature file not '
                                                 'found')


def test_zero_shot_demo_says_beta_topk_and_missing_class(surrogate_root):
    from stftbox.fileio import safe_torch_load
    beta = safe_torch_load(CKPT)['meta']['calibration']['beta']
    feats = osp.join(surrogate_root, 'features', 'surrogate_temporal',
                     'audio', 'stage_2_test_unseen', 'PlayingSitar.pkl')
    res = run_demo([feats, CONFIG, CKPT, '--classes', 'Brushing Teeth,Surfing',
                    '--topk', '5', '--clips', '1'])
    assert res.returncode == 0, res.stderr[-3000:]
    lines = [ln for ln in res.stdout.splitlines() if 'mmengine' not in ln]
    # the checkpoint's beta, as tools/test.py uses, and where it comes from
    assert lines[0].startswith(f'beta {beta:.2f} (chosen on validation')
    assert ('note: --topk 5 but there are only 2 candidate classes; '
            'showing 2') in lines
    assert ("note: PlayingSitar.pkl holds clips of class 'PlayingSitar' "
            '(stage_2_test_unseen), which is not among the 2 candidate '
            'classes') in lines
    rows = parse_tables(res.stdout)
    assert [len(r) for r in rows.values()] == [2]
    # the seen class's distance includes beta: raw distance + beta
    from stftbox.apis import inference_model, init_model
    from stftbox.apis.inference import load_clip_features
    a, v, _ = load_clip_features(feats)
    raw = inference_model(init_model(CONFIG, CKPT), a[0], v[0],
                          class_names=['Brushing Teeth', 'Surfing'],
                          beta=0.0)['distances']
    shown = dict((n, d) for _, n, d in next(iter(rows.values())))
    assert np.isclose(shown['Surfing (seen)'], raw[1] + beta, atol=2e-4)
    assert np.isclose(shown['Brushing Teeth'], raw[0], atol=2e-4)
    # --beta 0 is said as such; a duplicate name is one error line
    res = run_demo([feats, CONFIG, CKPT, '--classes', 'Archery,archery',
                    '--beta', '0'])
    assert res.returncode == 1
    assert res.stderr.strip() == ("error: class_names: 'Archery' 2 times "
                                  "(as ['Archery', 'archery']); list each "
                                  'class once')
