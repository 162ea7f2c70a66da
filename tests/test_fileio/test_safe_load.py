"""Weights-only checkpoint loading: mmengine Runner save/resume, refusals,
non-checkpoints and shape mismatches."""
import pickle

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from torch.utils.data import Dataset

from stftbox.fileio import (CheckpointError, load_checkpoint_safely,
                            register_safe_globals, safe_globals_list,
                            safe_torch_load)


@pytest.fixture
def restore_safe_globals():
    saved = list(torch.serialization.get_safe_globals())
    yield
    torch.serialization.clear_safe_globals()
    torch.serialization.add_safe_globals(saved)


class _ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 2)

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.lin(inputs)
        if mode == 'loss':
            return dict(loss=((out - labels)**2).mean())
        return out


class _ToyData(Dataset):
    metainfo = dict(classes=('a', 'b'))

    def __len__(self):
        return 8

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(i)
        return dict(inputs=torch.randn(4, generator=g),
                    labels=torch.randn(2, generator=g))


def _runner(work_dir, max_epochs, name, **kwargs):
    from mmengine.runner import Runner
    return Runner(
        model=_ToyModel(),
        work_dir=str(work_dir),
        experiment_name=name,
        train_dataloader=dict(
            dataset=_ToyData(),
            sampler=dict(type='DefaultSampler', shuffle=True),
            batch_size=4,
            collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-3)),
        param_scheduler=[
            dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0,
                 end=1),
            dict(type='MultiStepLR', milestones=[1], by_epoch=True, begin=1,
                 end=3)
        ],
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1),
            logger=dict(type='LoggerHook', interval=1)),
        randomness=dict(seed=0),
        **kwargs)


def test_mmengine_checkpoint_resume_weights_only(tmp_path,
                                                 restore_safe_globals):
    from mmengine.logging import HistoryBuffer
    from mmengine.runner import load_checkpoint
    runner = _runner(tmp_path, 1, 'utils_save')
    runner.train()
    ckpt = tmp_path / 'epoch_1.pth'
    assert ckpt.is_file()

    # without the allow-list, torch's default weights-only load refuses
    torch.serialization.clear_safe_globals()
    with pytest.raises(pickle.UnpicklingError, match='HistoryBuffer'):
        torch.load(ckpt)
    assert register_safe_globals() == len(safe_globals_list())
    assert register_safe_globals() == 0  # idempotent

    # torch.load defaults to weights_only=True; it now works
    data = torch.load(ckpt)
    hub = data['message_hub']
    loss = hub['log_scalars']['train/loss']
    assert isinstance(loss, HistoryBuffer)
    assert loss.data[0].shape == (2, )  # 2 iterations logged
    assert loss.mean() == pytest.approx(float(loss.data[0].mean()))
    assert hub['runtime_info']['max_epochs'] == 1
    assert data['meta']['epoch'] == 1
    assert data['param_schedulers'][0]['start_factor'] == 0.1
    assert torch.equal(data['state_dict']['lin.weight'],
                       runner.model.lin.weight.detach())

    # mmengine's own loader and Runner.resume (weights-only inside)
    model = _ToyModel()
    load_checkpoint(model, str(ckpt), map_location='cpu')
    assert torch.equal(model.lin.weight, runner.model.lin.weight.detach())
    resumed = _runner(tmp_path, 2, 'utils_resume', resume=True,
                      load_from=str(ckpt))
    resumed.train()
    assert resumed.epoch == 2 and resumed.iter == 4
    history = resumed.message_hub.get_scalar('train/loss').data[0]
    assert history.shape == (4, )  # 2 resumed + 2 new iterations
    assert history[:2].tolist() == loss.data[0].tolist()
    # the whole checkpoint also goes through the strict safe loader
    ck2 = load_checkpoint_safely(_ToyModel(), tmp_path / 'epoch_2.pth')
    assert ck2['meta']['epoch'] == 2


_TRIGGERED = []


def _record(message):
    _TRIGGERED.append(message)


class _Payload:
    """Unpickling it would call ``_record`` (stands for arbitrary code)."""

    def __reduce__(self):
        return (_record, ('code ran', ))


def test_forbidden_pickled_object_is_refused(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save(dict(state_dict=nn.Linear(4, 2).state_dict(),
                    extra=_Payload()), path)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint_safely(nn.Linear(4, 2), path)
    msg = str(err.value)
    assert str(path) in msg
    assert f"the pickled global '{__name__}._record'" in msg
    assert 'will not be unpickled' in msg
    assert _TRIGGERED == []


class _Custom:

    def __init__(self):
        self.value = 3


def test_custom_class_instance_is_refused(tmp_path):
    path = tmp_path / 'custom.pth'
    torch.save({'state_dict': {}, 'obj': _Custom()}, path)
    with pytest.raises(CheckpointError) as err:
        safe_torch_load(path)
    msg = str(err.value)
    assert str(path) in msg
    assert f"'{__name__}._Custom'" in msg
    assert 'will not be unpickled' in msg


class _GetattrTrick:

    def __init__(self, owner, name):
        self.owner, self.name = owner, name

    def __reduce__(self):
        return (getattr, (self.owner, self.name))


def test_restricted_getattr_only_resolves_history_buffer_stats(tmp_path):
    import numpy as np
    from mmengine.logging import HistoryBuffer
    ok = tmp_path / 'ok.pth'
    torch.save({'m': _GetattrTrick(HistoryBuffer, 'mean')}, ok)
    assert safe_torch_load(ok)['m'] is HistoryBuffer.mean
    for owner, name in [(HistoryBuffer, 'update'), (np.ndarray, 'tofile'),
                        (HistoryBuffer, '__init__')]:
        bad = tmp_path / f'bad_{name}.pth'
        torch.save({'m': _GetattrTrick(owner, name)}, bad)
        with pytest.raises(CheckpointError, match='refused getattr'):
            safe_torch_load(bad)


def test_safe_globals_cover_numpy_one_names():
    names = {g[1] for g in safe_globals_list() if isinstance(g, tuple)}
    assert {'builtins.getattr', 'numpy._core.multiarray._reconstruct',
            'numpy.core.multiarray._reconstruct',
            'numpy._core.multiarray.scalar',
            'numpy.core.multiarray.scalar'} <= names


def test_not_a_checkpoint(tmp_path):
    good = tmp_path / 'good.pth'
    torch.save({'state_dict': nn.Linear(64, 64).state_dict()}, good)
    raw = good.read_bytes()
    cases = {
        'page.pth': (b'<html><head><title>404</title></head></html>',
                     'HTML'),
        'truncated.pth': (raw[:len(raw) // 2], 'truncated or corrupt'),
        'empty.pth': (b'', 'empty'),
        'plain.pkl': (pickle.dumps({'a': 1}), 'plain pickle'),
        'text.pth': (b'hello world, not a model', 'unknown format'),
    }
    for name, (data, needle) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(CheckpointError) as err:
            load_checkpoint_safely(nn.Linear(64, 64), path)
        assert str(path) in str(err.value), name
        assert needle in str(err.value), (name, str(err.value))
    with pytest.raises(FileNotFoundError):
        safe_torch_load(tmp_path / 'absent.pth')


def test_shape_mismatch_and_keys(tmp_path):
    src = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    path = tmp_path / 'seq.pth'
    torch.save({'state_dict': {'module.' + k: v
                               for k, v in src.state_dict().items()}}, path)
    # exact fit, with the DDP 'module.' prefix stripped
    dst = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    load_checkpoint_safely(dst, path)
    assert torch.equal(dst[1].weight, src[1].weight)

    wrong = nn.Sequential(nn.Linear(4, 5), nn.Linear(5, 2))
    with pytest.raises(CheckpointError) as err:
        load_checkpoint_safely(wrong, path)
    msg = str(err.value)
    assert '0.weight: checkpoint (3, 4) vs model (5, 4)' in msg
    assert '0.bias: checkpoint (3,) vs model (5,)' in msg
    assert '1.weight: checkpoint (2, 3) vs model (2, 5)' in msg
    assert '1.bias' not in msg

    bigger = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2), nn.Linear(2, 1))
    with pytest.raises(CheckpointError, match=r'missing keys in checkpoint: '
                       r'2\.weight, 2\.bias'):
        load_checkpoint_safely(bigger, path)
    load_checkpoint_safely(bigger, path, strict=False)
    assert torch.equal(bigger[0].weight, src[0].weight)
    smaller = nn.Sequential(nn.Linear(4, 3))
    with pytest.raises(CheckpointError,
                       match=r'unexpected keys in checkpoint: 1\.weight, '
                       r'1\.bias'):
        load_checkpoint_safely(smaller, path)


def test_safetensors_round_trip_with_meta_arrays(tmp_path):
    from stftbox.fileio import load_safetensors, save_safetensors
    from stftbox.fileio.safe_load import check_checkpoint_file
    model = torch.nn.Linear(3, 2)
    emb = np.arange(6, dtype=np.float32).reshape(2, 3)
    meta = dict(calibration=dict(beta=1.2, epoch=6),
                dataset_meta=dict(classes=('a', 'b'), class_embeddings=emb,
                                  seen_class_ids=[0]))
    path = str(tmp_path / 'm.safetensors')
    save_safetensors(model.state_dict(), path, meta)
    assert check_checkpoint_file(path) == 'safetensors'
    for loaded in (load_safetensors(path), safe_torch_load(path)):
        assert set(loaded['state_dict']) == {'weight', 'bias'}
        assert torch.equal(loaded['state_dict']['weight'], model.weight)
        got = loaded['meta']
        assert got['calibration'] == {'beta': 1.2, 'epoch': 6}
        assert got['dataset_meta']['classes'] == ['a', 'b']
        np.testing.assert_array_equal(
            got['dataset_meta']['class_embeddings'], emb)
    target = torch.nn.Linear(3, 2)
    load_checkpoint_safely(target, path, strict=True)
    assert torch.equal(target.bias, model.bias)
    # no pickle anywhere in the file
    assert b'\x80\x02' not in open(path, 'rb').read()[:64]


def test_truncated_safetensors_is_a_checkpoint_error(tmp_path):
    from stftbox.fileio import save_safetensors
    path = tmp_path / 'm.safetensors'
    save_safetensors(torch.nn.Linear(30, 20).state_dict(), str(path))
    data = path.read_bytes()
    path.write_bytes(data[:len(data) - 100])
    with pytest.raises(CheckpointError, match='m.safetensors: not a '
                       'readable safetensors file'):
        safe_torch_load(str(path))


def test_safetensors_meta_must_be_plain(tmp_path):
    from stftbox.fileio import save_safetensors
    with pytest.raises(TypeError, match="meta value at 'x' of type object"):
        save_safetensors({'w': torch.zeros(1)}, str(tmp_path / 'm.st'),
                         dict(x=object()))
