"""tools/test.py --dump/--per-class/--show-dir, analyze_results.py,
analyze_logs.py and visualize_embeddings.py: the files they write, their
contents, and picture sizes in pixels."""
import argparse
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from stftbox.evaluation import gzsl_scores
from stftbox.evaluation.result_plots import DPI, FIGURE_SIZES
from stftbox.evaluation.results import load_results, per_class_rows
from stftbox.fileio import safe_torch_load

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'stft_demo.py')
CKPT = osp.join(REPO, 'checkpoints', 'stft_demo_ucf_surrogate.pth')
TOOLS = osp.join(REPO, 'tools', 'analysis_tools')


def load_tool(name, folder=TOOLS):
    spec = importlib.util.spec_from_file_location(
        f'_tool_{name}', osp.join(folder, f'{name}.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def image_size(path):
    with Image.open(path) as img:
        img.load()
        return img.size


def px(size):
    return (round(size[0] * DPI), round(size[1] * DPI))


@pytest.fixture(scope='module')
def test_run(surrogate_root, tmp_path_factory):
    """One tools/test.py run with all three new options."""
    tmp = tmp_path_factory.mktemp('test_run')
    opts = {f'test_dataloader.{k}': v for k, v in (
        ('dataset.data_root', surrogate_root), ('num_workers', 0),
        ('persistent_workers', False))}
    args = [sys.executable, 'tools/test.py', CONFIG, CKPT,
            '--work-dir', str(tmp / 'work'), '--out', str(tmp / 'm.json'),
            '--dump', str(tmp / 'preds.pkl'), '--per-class',
            '--show-dir', str(tmp / 'show'), '--cfg-options'] + [
                f'{k}={v}' for k, v in opts.items()]
    res = subprocess.run(args, cwd=REPO, capture_output=True, text=True,
                         timeout=600, env=dict(os.environ,
                                               OMP_NUM_THREADS='1'))
    assert res.returncode == 0, res.stderr[-3000:]
    return tmp, res.stdout


def test_test_py_dump(test_run):
    tmp, stdout = test_run
    assert f"per-clip results: {tmp / 'preds.pkl'}" in stdout.splitlines()
    res = load_results(str(tmp / 'preds.pkl'))
    assert res['beta_source'] == 'validation'   # stored in the checkpoint
    metrics = json.loads((tmp / 'm.json').read_text())
    beta = safe_torch_load(CKPT)['meta']['calibration']['beta']
    n = len(res['labels'])
    assert n == 4 * 48  # 4 clips of each of the 42 + 6 test classes
    assert res['distances'].shape == (n, 101)
    assert len(res['class_names']) == 101 and len(res['clip_names']) == n
    assert len(res['seen_class_ids']) == 42
    assert len(res['unseen_class_ids']) == 6
    assert res['beta'] == pytest.approx(beta)
    # the protocol's rule: beta on the seen columns, others +inf, arg-min
    # over the class axis (ties to the lowest class id)
    d = np.full_like(res['distances'], np.inf)
    d[:, res['seen_class_ids']] = res['distances'][:, res['seen_class_ids']] \
        + np.float32(beta)
    d[:, res['unseen_class_ids']] = \
        res['distances'][:, res['unseen_class_ids']]
    assert res['predictions'].tolist() == d.argmin(1).tolist()
    for key in ('S', 'U', 'HM', 'ZSL'):
        assert res['metrics'][key] == pytest.approx(metrics[f'gzsl/{key}'])
    import torch
    sc = gzsl_scores(torch.from_numpy(res['distances']),
                     torch.from_numpy(res['labels']), res['seen_class_ids'],
                     res['unseen_class_ids'], beta)
    assert 100 * sc['HM'] == pytest.approx(metrics['gzsl/HM'])


def test_test_py_per_class_and_show_dir(test_run):
    tmp, stdout = test_run
    res = load_results(str(tmp / 'preds.pkl'))
    rows = per_class_rows(res)
    lines = [ln.split() for ln in stdout.splitlines()]
    table = [ln for ln in lines if len(ln) == 5 and ln[2] in ('seen',
                                                               'unseen')]
    assert len(table) == len(rows) == 48
    assert sum(ln[2] == 'unseen' for ln in table) == 6
    for ln, row in zip(table, rows):
        assert (int(ln[0]), ln[1]) == (row['id'], row['name'])
        assert float(ln[4]) == pytest.approx(row['accuracy'], abs=0.005)
    for name, size in FIGURE_SIZES.items():
        assert image_size(tmp / 'show' / f'{name}.png') == px(size)


def test_analyze_results(test_run, tmp_path, capsys):
    tmp, _ = test_run
    tool = load_tool('analyze_results')
    files = tool.main([str(tmp / 'preds.pkl'), '--out-dir', str(tmp_path),
                       '--beta', '0', '--num-classes', '5'])
    for name, size in FIGURE_SIZES.items():
        assert files[name] == str(tmp_path / f'{name}.png')
        assert image_size(files[name]) == px(size)
    out = capsys.readouterr().out
    assert '192 clips, beta 0.00' in out
    with pytest.raises(SystemExit, match='results file not found'):
        tool.main([str(tmp_path / 'nope.pkl')])


def write_scalars(run_dir, epochs=3, iters=4, first_epoch=1):
    """A scalars.json written by mmengine's LocalVisBackend, laid out as
    the Runner does: <work_dir>/<timestamp>/vis_data/scalars.json; a part
    resumed after epoch ``first_epoch - 1`` starts there."""
    from mmengine.visualization import LocalVisBackend
    backend = LocalVisBackend(save_dir=str(run_dir / 'vis_data'))
    step = (first_epoch - 1) * iters
    for e in range(first_epoch, epochs + 1):
        for _ in range(iters):
            step += 1
            backend.add_scalars(dict(loss=10.0 / step, lr=1e-3,
                                     time=0.1 * e, epoch=e, iter=step),
                                step=step)
        backend.add_scalars({'gzsl/HM': 10.0 * e, 'gzsl/S': 20.0}, step=e)
    backend.close()


def test_analyze_logs_plot_curve(tmp_path, capsys):
    tool = load_tool('analyze_logs')
    work = tmp_path / 'work'
    write_scalars(work / '20260101_000000', epochs=1)
    write_scalars(work / '20260102_000000')  # the latest run is used
    path = tool.find_scalars(str(work))
    assert path.endswith(osp.join('20260102_000000', 'vis_data',
                                  'scalars.json'))
    recs = tool.load_scalars(path)
    x, y, label = tool.key_series(recs, 'loss')
    assert label == 'iteration' and x.tolist() == list(range(1, 13))
    assert y[-1] == pytest.approx(10 / 12)
    x, y, label = tool.key_series(recs, 'gzsl/HM')
    assert label == 'epoch' and x.tolist() == [1, 2, 3]
    assert y.tolist() == [10.0, 20.0, 30.0]

    out = tool.main(['plot_curve', str(work), '--keys', 'loss', 'gzsl/HM'])
    assert out == str(work / 'curves.png')
    w, h = tool.PANEL_SIZE
    assert image_size(out) == px((w, 2 * h))
    out3 = tool.main(['plot_curve', str(work / '20260101_000000'), path,
                      '--keys', 'loss', 'lr', 'gzsl/S', '--legend', 'a',
                      'b', '--out', str(tmp_path / 'c3.png')])
    assert image_size(out3) == px((w, 3 * h))
    with pytest.raises(SystemExit, match=r"'nope' is in no scalars.json; "
                       r"available keys: \['gzsl/HM', 'gzsl/S', 'loss'"):
        tool.main(['plot_curve', str(work), '--keys', 'nope'])
    with pytest.raises(SystemExit, match='no vis_data/scalars.json'):
        tool.main(['plot_curve', str(tmp_path), '--keys', 'loss'])

    t = tool.cal_train_time(recs)
    assert t['slowest_epoch'] == 3 and t['slowest'] == pytest.approx(0.3)
    assert t['fastest_epoch'] == 1 and t['mean'] == pytest.approx(0.2)


def test_plot_curve_of_a_resumed_run_covers_every_part(tmp_path):
    # case 40: stopped twice, resumed twice: three <timestamp>/ folders;
    # an earlier fresh run in the same folder is not part of it
    tool = load_tool('analyze_logs')
    work = tmp_path / 'work'
    write_scalars(work / '20260101_000000', epochs=5)  # another, older run
    write_scalars(work / '20260102_000000', epochs=3)  # killed in epoch 3
    write_scalars(work / '20260102_010000', epochs=4, first_epoch=3)
    write_scalars(work / '20260102_020000', epochs=6, first_epoch=5)
    path = tool.find_scalars(str(work))
    recs = tool.load_scalars(path)
    x, _, _ = tool.key_series(recs, 'loss')
    assert x.tolist() == list(range(1, 25))  # each iteration once
    x, y, _ = tool.key_series(recs, 'gzsl/HM')
    assert x.tolist() == [1, 2, 3, 4, 5, 6]
    assert y.tolist() == [10.0, 20.0, 30.0, 40.0, 50.0, 60.0]
    # one part alone on request; a fresh run has no earlier parts
    only = tool.load_scalars(path, whole_run=False)
    assert tool.key_series(only, 'gzsl/HM')[0].tolist() == [5, 6]
    fresh = str(work / '20260102_000000' / 'vis_data' / 'scalars.json')
    assert tool.key_series(tool.load_scalars(fresh), 'loss')[0].tolist() \
        == list(range(1, 13))


def test_curves_of_a_finished_demo_run(surrogate_root, short_run, tmp_path):
    """tools/train.py (1 short epoch), then plot_curve on its work dir."""
    work = tmp_path / 'work'
    opts = short_run(surrogate_root, epochs=1, batches=2)
    res = subprocess.run(
        [sys.executable, 'tools/train.py', CONFIG, '--work-dir', str(work),
         '--cfg-options'] + [f'{k}={v}' for k, v in opts.items()],
        cwd=REPO, capture_output=True, text=True, timeout=600,
        env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert res.returncode == 0, res.stderr[-3000:]
    tool = load_tool('analyze_logs')
    recs = tool.load_scalars(tool.find_scalars(str(work)))
    x, _, label = tool.key_series(recs, 'loss')
    assert label == 'iteration' and x.tolist() == [1, 2]
    x, hm, label = tool.key_series(recs, 'gzsl/HM')
    assert label == 'epoch' and x.tolist() == [1] and 0 <= hm[0] <= 100
    out = tool.main(['plot_curve', str(work), '--keys', 'loss', 'gzsl/HM'])
    w, h = tool.PANEL_SIZE
    assert image_size(out) == px((w, 2 * h))


def test_visualize_embeddings(surrogate_root, tmp_path):
    tool = load_tool('visualize_embeddings')
    out = tool.main([CONFIG, CKPT, '--num-classes', '4',
                     '--clips-per-class', '3', '--out',
                     str(tmp_path / 'tsne.png'), '--cfg-options',
                     f'test_dataloader.dataset.data_root={surrogate_root}'])
    assert image_size(out) == px(tool.FIGURE_SIZE)
    rng = np.random.default_rng(0)
    seen, unseen = tool.choose_classes(range(10), [20, 21, 22], 4, rng)
    assert len(seen) == 2 and len(unseen) == 2 and set(unseen) < {20, 21, 22}
    seen, unseen = tool.choose_classes(range(10), [20], 4, rng)
    assert len(seen) == 3 and unseen == [20]


@pytest.mark.parametrize('path', [
    'tools/analysis_tools/analyze_logs.py',
    'tools/analysis_tools/analyze_results.py',
    'tools/analysis_tools/visualize_embeddings.py',
    'demo/zero_shot_demo.py'])
def test_every_option_has_help(path, monkeypatch, capsys):
    """Every argument of the tool has help text (and --help works)."""
    seen = []
    original = argparse._ActionsContainer.add_argument

    def spy(self, *args, **kwargs):
        seen.append((args, kwargs.get('help')))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(argparse._ActionsContainer, 'add_argument', spy)
    folder, name = osp.split(osp.join(REPO, path))
    tool = load_tool(name[:-3], folder)
    with pytest.raises(SystemExit) as exc:
        tool.parse_args(['--help'])
    assert exc.value.code == 0
    if name == 'analyze_logs.py':
        for task in ('plot_curve', 'cal_train_time'):
            with pytest.raises(SystemExit):
                tool.parse_args([task, '--help'])
    assert 'usage:' in capsys.readouterr().out
    missing = [a for a, h in seen if not h and a != ('-h', '--help')]
    assert not missing, f'{path}: options without help: {missing}'
    assert len(seen) >= 4


def test_test_py_has_the_new_options(monkeypatch, capsys):
    tool = load_tool('test', osp.join(REPO, 'tools'))
    monkeypatch.setattr(sys, 'argv', ['test.py', '--help'])
    with pytest.raises(SystemExit) as exc:
        tool.parse_args()
    assert exc.value.code == 0
    text = ' '.join(capsys.readouterr().out.split())
    for opt in ('--dump PKL', '--per-class', '--show-dir DIR'):
        assert opt in text
    monkeypatch.setattr(sys, 'argv', ['test.py', CONFIG, CKPT, '--dump',
                                      'preds.json'])
    with pytest.raises(SystemExit) as exc:
        tool.parse_args()
    assert exc.value.code == 2
    assert 'must end in .pkl' in capsys.readouterr().err


def test_test_py_says_a_stage1_checkpoint_never_saw_val_classes():
    from mmengine.config import Config
    tool = load_tool('test', folder=osp.join(REPO, 'tools'))
    cfg = Config.fromfile(CONFIG)
    meta = safe_torch_load(CKPT)['meta']
    assert meta['dataset_meta']['phase'] == 'stage_2_train'
    assert tool.stage1_note('zoo.pth', meta, cfg) is None  # the protocol's
    stage1 = dict(meta, dataset_meta=dict(meta['dataset_meta'],
                                          phase='stage_1_train'))
    note = tool.stage1_note('epoch_6.pth', stage1, cfg)
    assert note.startswith('note: epoch_6.pth was trained in stage 1 '
                           '(phase stage_1_train): it never trained on the '
                           'validation classes')
    assert 'seen classes of stage_2_test' in note and '\n' not in note
    # validating it on stage 1 is what it was made for: no note
    cfg.test_dataloader.dataset.phase = 'stage_1_val'
    assert tool.stage1_note('epoch_6.pth', stage1, cfg) is None
