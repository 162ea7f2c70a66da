# Ablation of configs/stft_demo.py: the projection loss on the fused
# audio-visual embedding only (instead of each modality's embedding, [P]).
# Same data, schedule and seed as stft_demo.
_base_ = ['../stft_demo.py']
model = dict(
    head=dict(
        losses=[dict(type='TripletLoss', margin=1.0, loss_weight=0.5),
                dict(type='ProjectionLoss', loss_weight=0.5,
                     apply_to='fused')]))
