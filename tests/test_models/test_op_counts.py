"""SOP / MAC counting with spikingjelly's op counters
(stftbox.models.utils.count_synops_macs): hand-computed numbers."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from stftbox.models.utils import count_synops_macs
from stftbox.registry import MODELS


def test_float_linear_costs_macs_spiking_linear_costs_sops():
    torch.manual_seed(0)
    first, second = nn.Linear(4, 3), nn.Linear(3, 5)
    model = nn.Sequential(first, second)
    x = torch.randn(2, 6, 4)
    spikes = (first(x) > 0).float()
    sops, macs = count_synops_macs(
        model, lambda: second((first(x) > 0).float()))
    assert macs == 2 * 6 * 4 * 3            # the float layer only
    assert sops == int(spikes.sum()) * 5    # spikes x fan-out


def test_spiking_conv_counts_the_weight_taps_inside_the_input():
    """A spike at the first position of a kernel-3, padding-1 Conv1d is
    seen by 2 output positions (the third tap falls in the padding): 2 x
    C_out SOPs, not kernel x C_out."""
    conv = nn.Conv1d(2, 7, 3, padding=1)
    x = torch.zeros(1, 2, 5)
    x[0, 1, 0] = 1.0
    sops, macs = count_synops_macs(conv, lambda: conv(x))
    assert (sops, macs) == (2 * 7, 0)
    x[0, 0, 2] = 1.0                        # inner spike: all 3 taps
    sops, _ = count_synops_macs(conv, lambda: conv(x))
    assert sops == (2 + 3) * 7


def test_fused_attention_counts_its_two_products():
    q = torch.randn(2, 4, 5, 8)             # [B, H, Lq, E]
    k, v = torch.randn(2, 4, 7, 8), torch.randn(2, 4, 7, 6)
    sops, macs = count_synops_macs(
        nn.Identity(), lambda: F.scaled_dot_product_attention(q, k, v))
    assert sops == 0
    assert macs == 2 * 4 * 5 * 7 * (8 + 6)


def test_batchnorm_is_not_counted():
    bn = nn.BatchNorm1d(3).eval()
    assert count_synops_macs(bn, lambda: bn(torch.randn(4, 3))) == (0, 0)


def test_snn_branch_sops_are_the_spikes_of_each_block_times_fan_out():
    """Block 0 reads float tokens (dense MACs); block 1 reads block 0's
    spikes (SOPs = the weight taps its spikes use). The audio (2 tokens)
    and video (3 tokens) sequences run through the blocks one after the
    other."""
    torch.manual_seed(0)
    branch = MODELS.build(dict(type='SNNBranch', in_channels=6, embed_dims=8,
                               time_steps=3, num_blocks=2, pooling=None,
                               tsf=None, norm=None, kernel_size=3)).eval()
    a, v = torch.randn(2, 2, 6) * 2, torch.randn(2, 3, 6) * 2
    spikes = []
    hook = branch.blocks[0].neuron.register_forward_hook(
        lambda m, i, o: spikes.append(o))
    sops, macs = count_synops_macs(branch, lambda: branch((a, v)))
    hook.remove()
    assert [s.shape for s in spikes] == [(3, 2, 2, 8), (3, 2, 3, 8)]
    # every spike feeds the 3 taps of each of the D outputs, except at the
    # ends of its own sequence (2 taps)
    expect = 0
    for s, taps in zip(spikes, ([2, 2], [2, 3, 2])):
        expect += int((s.sum((0, 1, 3)) * torch.tensor(taps)).sum())
    assert sops == expect * 8
    assert macs == 2 * (2 + 3) * 6 * 8 * 3  # block 0 once (direct encoding)
