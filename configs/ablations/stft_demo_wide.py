# Ablation of configs/stft_demo.py with the widths and loss wiring STFT had
# before the parameter budget (issue 8): full-width knowledge slots with a
# read module per modality and a slot block of their own, MLP ratio 4,
# a Tucker module per scale, linear input decoders, reconstruction of the
# audio-visual embedding, projection loss on the fused embedding only.
# Same data, schedule and seed as stft_demo.
_base_ = ['../stft_demo.py']
model = dict(
    backbone=dict(
        transformer_branch=dict(
            knowledge_combiner=dict(slot_dims=None, share_reads=False,
                                    num_layers=1),
            cross_modal=dict(mlp_ratio=4.0)),
        multi_scale=dict(share_fusion=False),
        decoder='linear'),
    head=dict(
        losses=[dict(type='TripletLoss', margin=1.0, loss_weight=0.5),
                dict(type='ProjectionLoss', loss_weight=0.5,
                     apply_to='fused')],
        av_reconstruction=True))
