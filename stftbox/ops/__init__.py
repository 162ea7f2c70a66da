"""Hand-written kernels of STFT's parts, each beside a plain-torch reference
written as the paper reads, chosen by ``backend`` in spikingjelly's
convention (``'torch'`` reference, ``'fused'`` kernel, ``'auto'`` = fused
where it applies; docs/method.md "Kernels"). The GLP gate op is
``stftbox.ops.glp_gate.glp_gate`` (the module keeps its name)."""
from .backend import BACKENDS, check_backend, use_fused
from .dynamic_threshold_lif import (DynamicThresholdLIFFunction,
                                    binary_entropy_bits, tanh_mean)
from .tied_reconstruction import tied_reconstruction_mse
from .token_conv import token_conv1d, token_conv1d_reference

__all__ = ['BACKENDS', 'check_backend', 'use_fused',
           'DynamicThresholdLIFFunction', 'binary_entropy_bits', 'tanh_mean',
           'tied_reconstruction_mse',
           'token_conv1d', 'token_conv1d_reference']
