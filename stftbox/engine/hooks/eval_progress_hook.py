"""A progress bar over the validation and test batches."""

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from stftbox.registry import HOOKS
from stftbox.utils.progress import progress_bar


@HOOKS.register_module()
class EvalProgressHook(Hook):
    """Show a progress bar (:func:`stftbox.utils.progress.progress_bar`:
    done/total batches, rate, ETA) while
    a validation or test epoch runs, on the main process only.

    mmengine's ``LoggerHook`` prints an evaluation line every ``interval``
    (50) batches only, so a long evaluation (e.g. VGGSound-GZSL test at
    real size) is otherwise silent for minutes. Loaders with fewer than
    ``min_iters`` batches (the bundled demo) get no bar.

    Args:
        min_iters (int): smallest number of batches that gets a bar.
            Default 20.
        file: stream of the bar (default ``sys.stdout``).
    """

    priority = 'VERY_LOW'

    def __init__(self, min_iters: int = 20, file=None) -> None:
        self.min_iters = int(min_iters)
        self.file = file
        self._bar = None

    def _start(self, loader) -> None:
        self._bar = None
        try:
            total = len(loader)
        except TypeError:  # an iterable loader without length
            return
        if is_main_process() and total >= self.min_iters:
            self._bar = progress_bar(total, file=self.file)

    def _step(self) -> None:
        if self._bar is not None:
            self._bar.update(1)
            if self._bar.n >= self._bar.total:
                self._end()  # before the metrics are logged

    def _end(self) -> None:
        if self._bar is not None:
            self._bar.close()
        self._bar = None

    def before_val_epoch(self, runner) -> None:
        self._start(runner.val_dataloader)

    def after_val_iter(self, runner, batch_idx, data_batch=None,
                       outputs=None) -> None:
        self._step()

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._end()

    def before_test_epoch(self, runner) -> None:
        self._start(runner.test_dataloader)

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None) -> None:
        self._step()

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._end()
