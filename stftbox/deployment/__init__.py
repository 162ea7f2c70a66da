"""Export of trained models to other runtimes (NIR for neuromorphic
hardware: :mod:`stftbox.deployment.nir_export`)."""
from .nir_export import (NIRExportError, find_snn_branch, nir_blockers,
                         parts_outside_the_graph, snn_branch_to_nir,
                         snn_branch_to_spikingjelly)

__all__ = ['NIRExportError', 'find_snn_branch', 'nir_blockers',
           'snn_branch_to_nir', 'snn_branch_to_spikingjelly',
           'parts_outside_the_graph']
