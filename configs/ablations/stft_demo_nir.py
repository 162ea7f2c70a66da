# Ablation of configs/stft_demo.py whose SNN branch NIR can express
# (tools/deployment/export_nir.py): plain LIF neurons (static threshold
# V_th = 1, hard reset), no global-local pooling, and BatchNorm instead of
# LayerNorm in the spiking blocks, and pointwise Conv1d (kernel 1: NIR has
# no temporal convolution along the tokens; the paper default is kernel 3)
# -> BN -> LIF; the export folds BN into the Conv1d. Same data, schedule and seed as
# stft_demo; the rest of the model (encoders, attention, Tucker fusion,
# head) is unchanged and runs on the host.
_base_ = ['../stft_demo.py']
model = dict(
    backbone=dict(
        snn_branch=dict(
            neuron=dict(_delete_=True, type='LIFNode', tau=2.0,
                        v_threshold=1.0, v_reset=0.0,
                        surrogate=dict(type='ATan', alpha=2.0)),
            kernel_size=1,
            pooling=None,
            norm='BN')))
