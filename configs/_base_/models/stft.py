# STFT, the Spiking Tucker Fusion Transformer (Li et al., IEEE TIP 2024).
# Tags (docs/method.md): [A] abstract, [S] published summaries, [P] the
# authors' earlier code (AVMST/AVCA), [I] our reading. Every reading that
# shapes the model is set here, so none hides in a class default. Swap any
# part by `type=` (neurons, poolings, fusions, ...). Widths the sources
# leave open are lean [I] (docs/widths.md): fewer parameters than TCaF's
# 7,269,972 at 128 / 4096 inputs.
embed_dims = 512
model = dict(
    type='STFT',
    backbone=dict(
        type='STFTBackbone',
        audio_channels=128,
        video_channels=4096,
        embed_dims=embed_dims,                # [S] d = 512
        # [S] linear + norm + dropout (no activation); dropout 0.1 [I]
        encoder=dict(type='ModalityEncoder', act='Identity', norm=True,
                     dropout=0.1),
        # [I] audio and video tokens run through the same spiking blocks as
        # two sequences: no local window mixes the two modalities
        snn_input='per_modality',
        snn_branch=dict(
            type='SNNBranch',
            time_steps=10,                   # [P]
            num_blocks=3,                    # [S]
            layer_type='conv1d',             # [S] Conv+LIF blocks
            kernel_size=3,                   # [I] temporal kernel; 1 = speed option
            norm='LN',                       # [I] LayerNorm per token in each block
            neuron=dict(
                type='DynamicThresholdLIF',  # [A] dynamic threshold, LIF [S]
                tau=2.0, v_reset=0.0,        # [I] spikingjelly LIF defaults
                # [S] threshold rises with the entropy of the step output;
                # [I] causal: the previous step's output
                entropy_source='prev_output',
                # [S] positive and bounded; [I] the constants
                v_threshold=1.0, v_th_min=0.5, v_th_max=1.5,
                entropy_gain=4.0, entropy_center=0.5,   # [I]
                glp_weight=0.0,              # [I] GLP cue weight, learned
                surrogate=dict(type='ATan', alpha=2.0)),   # [I]
            # [A] GLP; [S] P = (P_max + P_avg) / 2 + b P_max + (1 - b) P_avg;
            # [I] window 3, b = sigmoid(learnable), starting at 0.5
            pooling=dict(type='GlobalLocalPooling', kernel_size=3,
                         form='paper', mix_activation='sigmoid',
                         init_mix=0.5),
            modulation='residual_gate',      # [S] u * (1 + sigmoid(P))
            memory_saving=False,             # [I] memopt checkpointing
            tsf=dict(type='TimeStepFactor', time_steps=10),   # [A]
            dropout=0.1,                     # [I]
            # [I] one dropout mask for all T steps (spikingjelly
            # layer.Dropout, Lee et al. 2019)
            dropout_mode='shared'),
        transformer_branch=dict(
            type='TransformerBranch',
            # [S] K slots, gated reads, gated update, then self-attention;
            # [I] 8 slots of width 128, one read module for both
            # modalities, one slot self-attention block
            knowledge_combiner=dict(type='LatentKnowledgeCombiner',
                                    num_slots=8, num_heads=8, slot_dims=128,
                                    share_reads=True, num_layers=1,
                                    mlp_ratio=4.0),
            # [P] cross-attention between the modalities (AVCA / AVMST);
            # 'joint' self-attention is the option. [I] one block, MLP
            # ratio 1, sinusoidal positions and type embeddings
            cross_modal=dict(type='CrossModalTransformer', num_heads=8,
                             num_layers=1, mlp_ratio=1.0, drop=0.1,
                             attention='cross', pos_encoding='sincos',
                             modality_embed=True),
            pooling='mean'),                 # [I] mean of all output tokens
        # [S] rank 60; [I] tanh on the projected inputs, as in MUTAN
        fusion=dict(type='TuckerFusion', rank_r=60, rank_s=60, rank_o=60,
                    input_activation='Tanh'),
        # [I] pooled + per-step scales, summed, a LayerNorm on each scale,
        # one Tucker module shared by the scales
        multi_scale=dict(scales=['pooled', 'steps'], combine='sum',
                         share_fusion=True, scale_norm=True),
        step_weighting='tsf',                # [I] per-step scale by TSF
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
