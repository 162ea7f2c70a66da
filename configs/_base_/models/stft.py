# STFT, the Spiking Tucker Fusion Transformer (Li et al., IEEE TIP 2024).
# Defaults follow docs/method.md: [S] width 512, three spiking blocks, Tucker rank
# 60; [P] T = 10 time steps; [I] details are marked in each module's
# docstring. Swap any part by `type=` (neurons, poolings, fusions, ...).
embed_dims = 512
model = dict(
    type='STFT',
    backbone=dict(
        type='STFTBackbone',
        audio_channels=128,
        video_channels=4096,
        embed_dims=embed_dims,
        encoder=dict(type='ModalityEncoder', dropout=0.1),
        snn_branch=dict(
            type='SNNBranch',
            time_steps=10,                   # [P]
            num_blocks=3,                    # [S]
            layer_type='conv1d',             # [S] Conv+LIF blocks
            kernel_size=3,                   # [I]
            # [S] threshold from the entropy of the step output (the class
            # default entropy_source='prev_output': causal, the previous
            # step's output, see DynamicThresholdLIF) and the GLP cue
            neuron=dict(type='DynamicThresholdLIF',
                        surrogate=dict(type='ATan', alpha=2.0)),
            # [S] P = (P_max + P_avg) / 2 + b P_max + (1 - b) P_avg with a
            # learnable, sigmoid-squashed b; window 3 [I]
            pooling=dict(type='GlobalLocalPooling', kernel_size=3,
                         form='paper', mix_activation='sigmoid'),
            modulation='residual_gate',      # [S] u * (1 + sigmoid(P))
            windows_within_segments=True,    # [I] no window across a/v
            memory_saving=False,             # [I] memopt checkpointing
            tsf=dict(type='TimeStepFactor', time_steps=10),
            dropout=0.1),
        transformer_branch=dict(
            type='TransformerBranch',
            knowledge_combiner=dict(type='LatentKnowledgeCombiner',
                                    num_slots=8, num_heads=8),
            cross_modal=dict(type='CrossModalTransformer', num_heads=8,
                             num_layers=2, drop=0.1)),
        # [S] rank 60; [I] tanh on the projected inputs, as in MUTAN
        fusion=dict(type='TuckerFusion', rank_r=60, rank_s=60, rank_o=60,
                    input_activation='Tanh'),
        multi_scale=dict(scales=['pooled', 'steps'], combine='sum'),
        out_channels=embed_dims,
        reconstruction_weight=0.5),
    head=dict(
        type='GZSLHead',
        in_channels=embed_dims,
        text_channels=300,
        embed_dims=64,
        dropout=0.1,
        losses=[dict(type='TripletLoss', margin=1.0, loss_weight=0.5),
                dict(type='ProjectionLoss', loss_weight=0.5)],
        reconstruction_weight=0.5))
