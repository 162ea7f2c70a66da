"""Hands the dataset's class text embeddings to the model."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from stftbox.registry import HOOKS


@HOOKS.register_module()
class ClassEmbeddingHook(Hook):
    """Before training, validation and testing, copy
    ``dataset.metainfo['class_embeddings']`` (``[C_all, D_t]``) into the model
    with ``model.set_class_embeddings``; for training also the classes that
    training clips belong to (``seen_class_ids``), so losses never see unseen
    classes (validation and testing keep those ids: ``set_class_embeddings``
    leaves them unchanged when given None). Works with DDP-wrapped models.

    Raises:
        KeyError: if the dataset's metainfo has no ``class_embeddings``.
    """

    priority = 'VERY_HIGH'

    @staticmethod
    def _apply(runner, dataloader, train: bool) -> None:
        meta = dataloader.dataset.metainfo
        if 'class_embeddings' not in meta:
            raise KeyError(
                f'ClassEmbeddingHook: {type(dataloader.dataset).__name__}.'
                "metainfo has no 'class_embeddings'")
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        model.set_class_embeddings(
            meta['class_embeddings'],
            meta['seen_class_ids'] if train else None)

    def before_train(self, runner) -> None:
        self._apply(runner, runner.train_dataloader, train=True)

    def before_val(self, runner) -> None:
        self._apply(runner, runner.val_dataloader, train=False)

    def before_test(self, runner) -> None:
        self._apply(runner, runner.test_dataloader, train=False)
