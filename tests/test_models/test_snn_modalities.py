"""Windows within a modality by running the spiking blocks on the audio and
the video sequences separately (same weights): the outputs and gradients of
the earlier SNNBranch(windows_within_segments=True) on the joined sequence
(reference made once with that code: tests/data/snn_reference/)."""
import os.path as osp

import pytest
import torch

from stftbox.apis import register_all_modules
from stftbox.registry import MODELS

REF = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'data',
               'snn_reference', 'windows_within_segments.pt')
C, D, T = 6, 8, 4


def _branch(kernel, backend='auto'):
    register_all_modules()
    return MODELS.build(dict(
        type='SNNBranch', in_channels=C, embed_dims=D, time_steps=T,
        num_blocks=2, kernel_size=kernel, dropout=0.0, norm='LN',
        backend=backend,
        neuron=dict(type='DynamicThresholdLIF',
                    surrogate=dict(type='ATan', alpha=2.0)),
        pooling=dict(type='GlobalLocalPooling', kernel_size=3),
        tsf=dict(type='TimeStepFactor', time_steps=T)))


@pytest.mark.parametrize('backend', ['auto', 'torch'])
@pytest.mark.parametrize('kernel', [1, 3])
@pytest.mark.parametrize('case', ['unpadded', 'padded'])
def test_per_modality_runs_equal_the_joined_reference(kernel, case, backend):
    ref = torch.load(REF, weights_only=True)[f'kernel{kernel}']
    branch = _branch(kernel, backend)
    branch.load_state_dict(ref['state'])
    exp = ref[case]
    a = ref['audio'].clone().requires_grad_()
    v = ref['video'].clone().requires_grad_()
    out = branch((a, v), (exp['audio_mask'], exp['video_mask']))
    torch.testing.assert_close(out['step_outputs'], exp['step_outputs'],
                               rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out['embedding'], exp['embedding'],
                               rtol=1e-5, atol=1e-6)
    (out['embedding'] * exp['grad_out']).sum().backward()
    torch.testing.assert_close(a.grad, exp['grad_audio'], rtol=1e-4,
                               atol=1e-5)
    torch.testing.assert_close(v.grad, exp['grad_video'], rtol=1e-4,
                               atol=1e-5)
    for name, p in branch.named_parameters():
        torch.testing.assert_close(p.grad, exp['grads'][name], rtol=1e-4,
                                   atol=1e-5, msg=name)


def test_a_clip_does_not_depend_on_the_batch_or_its_padding():
    torch.manual_seed(0)
    branch = _branch(3).eval()
    a, v = torch.randn(3, 4, C), torch.randn(3, 5, C)
    am = torch.zeros(3, 4, dtype=torch.bool)
    vm = torch.zeros(3, 5, dtype=torch.bool)
    vm[1, 3:] = True
    with torch.no_grad():
        out = branch((a, v), (am, vm))['embedding']
        alone = branch((a[1:2], v[1:2, :3]), None)['embedding']
    torch.testing.assert_close(out[1:2], alone, rtol=1e-5, atol=1e-6)


def test_bad_inputs_name_the_sequence():
    branch = _branch(1)
    with pytest.raises(ValueError, match='sequence 1'):
        branch((torch.randn(2, 3, C), torch.randn(2, 3, C + 1)))
    with pytest.raises(ValueError, match='2 sequences but 1 padding'):
        branch((torch.randn(2, 3, C), torch.randn(2, 3, C)),
               [torch.zeros(2, 3, dtype=torch.bool)])
