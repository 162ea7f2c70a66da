"""The six paper configs (configs/stft_{vggsound,ucf,activitynet}[_main].py)
build the design docs/method.md states, value by value, within the
parameter budget (fewer trainable parameters than TCaF's 7,269,972 at the
C3D / VGGish widths)."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from stftbox.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PAPER_CONFIGS = {  # config -> (audio, video) feature widths
    'configs/stft_vggsound.py': (128, 4096),
    'configs/stft_ucf.py': (128, 4096),
    'configs/stft_activitynet.py': (128, 4096),
    'configs/stft_vggsound_main.py': (512, 512),
    'configs/stft_ucf_main.py': (512, 512),
    'configs/stft_activitynet_main.py': (512, 512),
}
TCAF_PARAMS = 7_269_972   # official TCaF at 128 / 4096 inputs (issue 8)
D = 512


def _count(module):
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


@pytest.fixture(scope='module', params=sorted(PAPER_CONFIGS))
def built(request):
    cfg = Config.fromfile(osp.join(REPO, request.param))
    torch.manual_seed(0)
    return request.param, cfg, MODELS.build(cfg.model)


def test_stated_values(built):
    path, cfg, model = built
    audio_ch, video_ch = PAPER_CONFIGS[path]
    bb, head = model.backbone, model.head
    assert type(model).__name__ == 'STFT'
    # encoders: linear + norm + dropout to d = 512 [S]
    assert bb.embed_dims == D
    for enc, ch in ((bb.audio_encoder, audio_ch), (bb.video_encoder,
                                                   video_ch)):
        assert (enc.fc.in_features, enc.fc.out_features) == (ch, D)
        assert isinstance(enc.norm, torch.nn.LayerNorm)
        assert enc.drop.p == 0.1
    # SNN branch: three blocks [S], T = 10 [P], dynamic-threshold neuron,
    # GLP and TSF [A]
    snn = bb.snn_branch
    assert len(snn.blocks) == 3 and snn.time_steps == 10
    assert snn.tsf is not None and snn.tsf.time_steps == 10
    for blk in snn.blocks:
        assert type(blk.neuron).__name__ == 'DynamicThresholdLIF'
        assert type(blk.pooling).__name__ == 'GlobalLocalPooling'
    # --- SNN-branch [S] forms (GLP formula, Conv+LIF blocks, output-entropy
    # threshold) are pinned by the SNN branch's own tests (branch i8snn).
    # transformer branch: knowledge slots + cross-modal transformer [S]
    tb = bb.transformer_branch
    assert type(tb.knowledge_combiner).__name__ == 'LatentKnowledgeCombiner'
    assert type(tb.cross_modal).__name__ == 'CrossModalTransformer'
    assert tb.cross_modal.with_slots
    # Tucker fusion, rank 60 [S], pooled + per-step scales [A]/[I]
    fusion = bb.fusion
    assert fusion.scales == ('pooled', 'steps')
    for f in fusion.fusions.values():
        assert type(f).__name__ == 'TuckerFusion' and f.ranks == (60, 60, 60)
    # head: word2vec class embeddings (300-d) [S]
    assert head.text_proj.fc1.in_features == 300
    # losses [S]: 0.5 * triplet (margin 1 [P]) + 0.5 * (projection +
    # reconstruction); projection of each modality's embedding [P];
    # reconstruction of the encoder inputs and the class embedding [P],
    # not of the audio-visual embedding (no source)
    trip, proj = head.losses
    assert type(trip).__name__ == 'TripletLoss'
    assert (trip.margin, trip.loss_weight) == (1.0, 0.5)
    assert type(proj).__name__ == 'ProjectionLoss'
    assert (proj.loss_weight, proj.apply_to) == (0.5, 'modalities')
    assert head.reconstruction_weight == 0.5 and bb.reconstruction_weight \
        == 0.5
    assert not head.av_reconstruction and not hasattr(head, 'av_decoder')
    assert hasattr(head, 'text_decoder')
    # training [P]: Adam, weight decay 1e-5, ReduceLROnPlateau on val HM
    # (patience 3), 50 epochs, seed 42, class-balanced batches
    assert cfg.optim_wrapper.optimizer.type == 'Adam'
    assert cfg.optim_wrapper.optimizer.weight_decay == 1e-5
    (sched, ) = cfg.param_scheduler
    assert (sched.type, sched.monitor, sched.patience) == (
        'ReduceOnPlateauLR', 'gzsl/HM', 3)
    assert cfg.train_cfg.max_epochs == 50 and cfg.randomness.seed == 42
    assert cfg.train_dataloader.sampler.type == 'ClassBalancedSampler'


def test_parameter_budget(built):
    """Every part outside the SNN branch, counted by hand; the whole model
    below TCaF."""
    path, cfg, model = built
    audio_ch, video_ch = PAPER_CONFIGS[path]
    bb, head = model.backbone, model.head
    lin = lambda i, o: i * o + o   # noqa: E731  nn.Linear with bias
    ln = 2 * D
    assert _count(bb.audio_encoder) == lin(audio_ch, D) + ln
    assert _count(bb.video_encoder) == lin(video_ch, D) + ln
    # tied decoders: a bias per input channel
    assert _count(bb.audio_decoder) + _count(bb.video_decoder) == \
        audio_ch + video_ch
    # slots 8 x 128, projections 512 <-> 128, one read module at 128
    # (norms, attention, two gates over [K; R], candidate), final norm
    dk = 128
    read = 2 * 2 * dk + lin(dk, 3 * dk) + lin(dk, dk) + \
        2 * lin(2 * dk, dk) + lin(dk, dk)
    # + the slots' own self-attention block [S] (timm, MLP ratio 4)
    slot_block = 2 * 2 * dk + lin(dk, 3 * dk) + lin(dk, dk) + \
        lin(dk, 4 * dk) + lin(4 * dk, dk)
    kc = 8 * dk + lin(D, dk) + lin(dk, D) + read + slot_block + 2 * dk
    assert _count(bb.transformer_branch.knowledge_combiner) == kc
    # one timm block, MLP ratio 1, + 3 modality embeddings + final norm
    block = 2 * ln + lin(D, 3 * D) + lin(D, D) + 2 * lin(D, D)
    assert _count(bb.transformer_branch.cross_modal) == \
        block + 3 * D + ln
    # one Tucker module for both scales + a LayerNorm per scale
    assert _count(bb.fusion) == 3 * D * 60 + 60 ** 3 + 2 * ln
    # head: hidden 256, joint space 64, text decoder only
    assert _count(head) == lin(D, 256) + lin(256, 64) + lin(300, 256) + \
        lin(256, 64) + lin(64, 256) + lin(256, 300)
    total = _count(model)
    assert total == sum(_count(m) for m in model.children())
    # three Conv1d(512, 512, kernel 3) + LIF blocks: weights, biases, LN,
    # GLP beta, threshold gain / bias / GLP weight; the TSF's step scores
    snn = bb.snn_branch
    assert _count(snn) == 3 * (3 * D * D + D + ln + 1 + 3) + _count(snn.tsf)
    if (audio_ch, video_ch) == (128, 4096):
        assert total < TCAF_PARAMS
        assert total == 7_239_810


def test_paper_model_trains_one_step_on_real_lengths(built):
    """Loss terms and gradients of the paper-width model on a clip of the
    dataset's benchmark lengths (benchmark_seq_lens)."""
    path, cfg, model = built
    if path != 'configs/stft_vggsound.py':
        pytest.skip('one paper config is enough for a forward pass')
    lens = cfg.benchmark_seq_lens
    assert (lens.audio, lens.video) == (10, 16)
    audio_ch, video_ch = PAPER_CONFIGS[path]
    g = torch.Generator().manual_seed(0)
    inputs = dict(audio=torch.randn(4, lens.audio, audio_ch, generator=g),
                  video=torch.randn(4, lens.video, video_ch, generator=g))
    model.set_class_embeddings(torch.randn(6, 300, generator=g),
                               train_class_ids=[0, 2, 4])
    losses = model(inputs, dict(labels=torch.tensor([0, 2, 4, 0])),
                   mode='loss')
    assert set(losses) == {'loss_triplet', 'loss_projection',
                           'loss_reconstruction',
                           'loss_input_reconstruction'}
    assert all(torch.isfinite(v) and v > 0 for v in losses.values())


def test_wide_ablation_restores_the_previous_widths():
    """configs/ablations/stft_demo_wide.py sets every width option back to
    the pre-budget STFT: the demo model had 356,492 parameters then, with
    Linear+LIF blocks, as many as with today's pointwise Conv+LIF default;
    with kernel 3 (64 wide: 2 blocks x 64 x 64 x (3 - 1) = 16,384 more
    weights) it has 372,876."""
    path = osp.join(REPO, 'configs/ablations/stft_demo_wide.py')
    model = MODELS.build(Config.fromfile(path).model)
    assert _count(model) == 372_876      # kernel 3, today's default
    cfg = Config.fromfile(path)
    cfg.model.backbone.snn_branch.kernel_size = 1
    assert _count(MODELS.build(cfg.model)) == 356_492
    cfg.model.backbone.snn_branch.kernel_size = 1
    cfg.model.backbone.snn_branch.layer_type = 'linear'
    assert _count(MODELS.build(cfg.model)) == 356_492
    assert model.head.av_reconstruction
    assert model.head.losses[1].apply_to == 'fused'
    assert not model.backbone.fusion.share_fusion
    lean = MODELS.build(Config.fromfile(
        osp.join(REPO, 'configs/stft_demo.py')).model)
    assert _count(lean) == 192_812 and _count(lean) < 0.52 * _count(model)
