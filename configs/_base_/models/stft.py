# STFT, the Spiking Tucker Fusion Transformer (Li et al., IEEE TIP 2024).
# Defaults follow docs/method.md: [S] width 512, three spiking blocks, Tucker rank
# 60; [P] T = 10 time steps; [I] details are marked in each module's
# docstring. Swap any part by `type=` (neurons, poolings, fusions, ...).
# The widths the sources leave open are lean [I] (docs/widths.md):
# 5,468,674 parameters at 128 / 4096 inputs, fewer than TCaF's 7,269,972.
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
            # [I] pointwise Conv1d (as Spikformer's Conv1d+BN+LIF blocks):
            # demo HM over 5 seeds as kernel 3 (docs/ablations_seeds.md),
            # 3x fewer multiply-adds in the T-step blocks
            kernel_size=1,
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
            dropout=0.1,
            # [I] one dropout mask for all T steps (spikingjelly
            # layer.Dropout, Lee et al. 2019)
            dropout_mode='shared'),
        transformer_branch=dict(
            type='TransformerBranch',
            # [I] 8 slots of width 128, one read module for both
            # modalities; the slots' self-attention happens in the
            # cross-modal transformer (num_layers=0 here)
            knowledge_combiner=dict(type='LatentKnowledgeCombiner',
                                    num_slots=8, num_heads=8, slot_dims=128,
                                    share_reads=True, num_layers=0),
            # [I] one joint block over audio + video + slot tokens
            cross_modal=dict(type='CrossModalTransformer', num_heads=8,
                             num_layers=1, mlp_ratio=1.0, drop=0.1)),
        # [S] rank 60; [I] tanh on the projected inputs, as in MUTAN
        fusion=dict(type='TuckerFusion', rank_r=60, rank_s=60, rank_o=60,
                    input_activation='Tanh'),
        # [I] one Tucker module shared by the pooled and per-step scales
        multi_scale=dict(scales=['pooled', 'steps'], combine='sum',
                         share_fusion=True),
        out_channels=embed_dims,
        # [P] reconstruction of the encoder inputs; [I] decoders tied to
        # the encoder weights (a 512 -> 4096 linear decoder is 2.1 M)
        reconstruction_weight=0.5,
        decoder='tied'),
    head=dict(
        type='GZSLHead',
        in_channels=embed_dims,
        text_channels=300,
        embed_dims=64,
        hidden_dims=256,  # [I]
        dropout=0.1,
        # [S] 0.5 * triplet + 0.5 * (projection + reconstruction); [P]
        # triplet margin 1; projection of each modality's embedding onto
        # the class embedding
        losses=[dict(type='TripletLoss', margin=1.0, loss_weight=0.5),
                dict(type='ProjectionLoss', loss_weight=0.5,
                     apply_to='modalities')],
        # [P] reconstruction of the class embedding; the audio-visual
        # embedding's reconstruction is not stated anywhere: off
        reconstruction_weight=0.5,
        av_reconstruction=False))
