"""Repeats the peers' train-mode embedding pass after every optimiser
step."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from stftbox.registry import HOOKS


@HOOKS.register_module()
class TrainModeEmbeddingHook(Hook):
    """After every training iteration, call
    ``model.train_mode_embedding_pass(inputs, data_samples)`` on the same
    batch (``TCaF`` and ``AVCA`` models; docs/baselines.md).

    The TCaF-GZSL and AVCA-GZSL train loops call the model's
    ``get_embeddings`` on each batch right after its optimiser step, in
    train mode. Its outputs only feed a training log, but it updates every
    BatchNorm it passes through once more; the running statistics used at
    evaluation therefore depend on it. This hook reproduces that pass (no
    gradient). Models without the method are left alone.
    """

    priority = 'LOW'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        if data_batch is None or not hasattr(model,
                                             'train_mode_embedding_pass'):
            return
        data = model.data_preprocessor(data_batch, True)
        model.train_mode_embedding_pass(data['inputs'], data['data_samples'])
