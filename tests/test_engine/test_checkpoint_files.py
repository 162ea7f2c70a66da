"""Checkpoint files that survive a crash while written, a truncated file, a
moved or copied work dir (stftbox.engine.checkpoint_files)."""
import os
import os.path as osp

import pytest
import torch

from stftbox.engine.checkpoint_files import (atomic_checkpoint_saving,
                                             checkpoint_problem,
                                             find_resumable_checkpoint,
                                             local_path, relative_to,
                                             write_last_checkpoint)
from stftbox.fileio import CheckpointError


def save(path, value=1.0):
    torch.save(dict(state_dict=dict(w=torch.full((64,), value))), str(path))


def truncate(path):
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])


def test_checkpoint_problem(tmp_path):
    good = tmp_path / 'epoch_1.pth'
    save(good)
    assert checkpoint_problem(str(good)) is None
    assert checkpoint_problem(str(tmp_path / 'nope.pth')) == 'missing'
    (tmp_path / 'empty.pth').write_bytes(b'')
    assert checkpoint_problem(str(tmp_path / 'empty.pth')) == \
        'not a checkpoint: the file is empty'
    half = tmp_path / 'half.pth'
    save(half)
    truncate(half)
    assert checkpoint_problem(str(half)).startswith(
        'not a readable checkpoint: the zip container is truncated or '
        'corrupt (')
    (tmp_path / 'page.pth').write_bytes(b'<html>rate limited</html>')
    assert checkpoint_problem(str(tmp_path / 'page.pth')).startswith(
        'not a PyTorch checkpoint (it looks like an HTML/XML page')
    # a flipped byte inside a member: the CRC check finds it
    bad = tmp_path / 'bad.pth'
    save(bad, 3.0)
    data = bytearray(bad.read_bytes())
    i = data.index(torch.full((64,), 3.0).numpy().tobytes()[:16])
    data[i + 8] ^= 0xFF
    bad.write_bytes(bytes(data))
    assert checkpoint_problem(str(bad)).startswith('corrupt (member ')


def test_checkpoint_problem_follows_safe_load_rules(tmp_path):
    """The same format rules as every load: safetensors is fine for
    ``load_from``; a plain pickle (no torch magic) is refused."""
    from safetensors.torch import save_file
    st = tmp_path / 'weights.safetensors'
    save_file({'w': torch.arange(6.0).reshape(2, 3)}, str(st))
    assert checkpoint_problem(str(st)) is None
    import pickle
    plain = tmp_path / 'plain.pth'
    plain.write_bytes(pickle.dumps({'a': 1}, protocol=4))
    assert checkpoint_problem(str(plain)).startswith(
        'not a PyTorch checkpoint (it is a plain pickle')
    legacy = tmp_path / 'legacy.pth'
    torch.save({'w': torch.ones(2)}, str(legacy),
               _use_new_zipfile_serialization=False)
    assert checkpoint_problem(str(legacy)) is None


def test_atomic_saving_keeps_the_previous_file(tmp_path, monkeypatch):
    from mmengine.runner import runner as mm_runner
    path = tmp_path / 'epoch_2.pth'
    with atomic_checkpoint_saving():
        mm_runner.save_checkpoint(dict(v=1), str(path))
    assert torch.load(str(path))['v'] == 1
    real_save = torch.save

    def disk_full(obj, f, *a, **k):
        f.write(b'PK\x03\x04 half a checkpoint')
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(torch, 'save', disk_full)
    with pytest.raises(OSError, match='No space left'):
        with atomic_checkpoint_saving():
            mm_runner.save_checkpoint(dict(v=2), str(path))
    monkeypatch.setattr(torch, 'save', real_save)
    assert torch.load(str(path))['v'] == 1  # the previous, complete file
    assert os.listdir(tmp_path) == ['epoch_2.pth']  # no temporary left
    # outside the context mmengine's own function is back
    assert not getattr(mm_runner.save_checkpoint, 'stftbox_atomic', False)


def test_recorded_paths_are_relative_and_never_followed_elsewhere(tmp_path):
    wd = str(tmp_path / 'wd')
    assert relative_to(wd, osp.join(wd, 'epoch_2.pth')) == 'epoch_2.pth'
    assert relative_to(wd, '/elsewhere/epoch_2.pth') == \
        '/elsewhere/epoch_2.pth'
    assert local_path(wd, 'epoch_2.pth') == osp.join(wd, 'epoch_2.pth')
    assert local_path(wd, osp.join(wd, 'x.pth')) == osp.join(wd, 'x.pth')
    # recorded by the run at its old place: this folder's file is meant
    assert local_path(wd, '/old/place/best_gzsl_HM_epoch_1.pth') == \
        osp.join(wd, 'best_gzsl_HM_epoch_1.pth')
    assert local_path(wd, None) is None
    os.makedirs(wd)
    write_last_checkpoint(wd, osp.join(wd, 'epoch_3.pth'))
    assert open(osp.join(wd, 'last_checkpoint')).read() == 'epoch_3.pth'


def test_resume_falls_back_to_the_newest_complete_checkpoint(tmp_path):
    wd = tmp_path / 'wd'
    wd.mkdir()
    lines = []
    assert find_resumable_checkpoint(str(wd), lines.append) is None
    for n in (1, 2, 3):
        save(wd / f'epoch_{n}.pth', float(n))
    save(wd / 'best_gzsl_HM_epoch_3.pth')
    write_last_checkpoint(str(wd), str(wd / 'epoch_3.pth'))
    assert find_resumable_checkpoint(str(wd), lines.append) == \
        str(wd / 'epoch_3.pth')
    assert lines == []
    truncate(wd / 'epoch_3.pth')
    assert find_resumable_checkpoint(str(wd), lines.append) == \
        str(wd / 'epoch_2.pth')
    assert lines == [
        f'resume: {wd / "epoch_3.pth"} (named by last_checkpoint) is '
        'not a readable checkpoint: the zip container is truncated or '
        f'corrupt ({osp.getsize(wd / "epoch_3.pth")} bytes; File is not '
        'a zip file); resuming from '
        'epoch_2.pth, the newest complete checkpoint']
    os.remove(wd / 'epoch_3.pth')  # named but missing
    lines.clear()
    assert find_resumable_checkpoint(str(wd), lines.append) == \
        str(wd / 'epoch_2.pth')
    assert 'is missing; resuming from epoch_2.pth' in lines[0]
    for n in (1, 2):
        truncate(wd / f'epoch_{n}.pth')
    with pytest.raises(CheckpointError) as err:
        find_resumable_checkpoint(str(wd), lines.append)
    assert str(err.value) == (
        f'resume: {wd / "epoch_3.pth"} (named by last_checkpoint) is '
        f'missing, and no other complete checkpoint in {wd} (checked: '
        'epoch_2.pth, epoch_1.pth); start afresh with --force or another '
        '--work-dir')


def test_copied_work_dir_resumes_its_own_files(tmp_path):
    # an older run recorded an absolute path; the copy uses its own file
    old, new = tmp_path / 'old', tmp_path / 'new'
    for d in (old, new):
        d.mkdir()
        save(d / 'epoch_1.pth')
    (new / 'last_checkpoint').write_text(str(old / 'epoch_1.pth'))
    lines = []
    assert find_resumable_checkpoint(str(new), lines.append) == \
        str(new / 'epoch_1.pth')
    assert lines == [f'resume: last_checkpoint names {old / "epoch_1.pth"},'
                     f' outside this work dir (moved or copied); using '
                     f'{new / "epoch_1.pth"}']
    # checkpoints kept in another folder on purpose (CheckpointHook
    # out_dir): the record is followed there
    out = tmp_path / 'ckpts' / 'wd'
    out.mkdir(parents=True)
    save(out / 'epoch_4.pth')
    wd = tmp_path / 'wd'
    wd.mkdir()
    (wd / 'last_checkpoint').write_text(str(out / 'epoch_4.pth'))
    assert find_resumable_checkpoint(str(wd), lines.append) == \
        str(out / 'epoch_4.pth')
