"""The exact TCaF, AVCA and SpikingAVCA demo configs train and validate in
the mmengine pipeline (AVGZSLDataset batches with padding masks,
TrainModeEmbeddingHook, GZSLMetric)."""
import os.path as osp

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


class _CountTextProjBatches:
    """Records how often the text projection's first BatchNorm ran."""

    def __init__(self, model):
        self.bn = model.head.text_proj.layers[1]
        self.start = int(self.bn.num_batches_tracked)

    def runs(self):
        return int(self.bn.num_batches_tracked) - self.start


@pytest.mark.parametrize('name,per_step', [('tcaf', 3), ('spiking_avca', 3)])
def test_demo_trains_with_train_mode_pass(name, per_step, surrogate_root,
                                          short_run, tmp_path):
    from mmengine.config import Config
    from mmengine.runner import Runner

    from stftbox.apis import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(osp.join(REPO, f'configs/baselines/{name}_demo.py'))
    cfg.merge_from_dict(short_run(surrogate_root, epochs=1, batches=2,
                                  batch_size=12))
    cfg.work_dir = str(tmp_path / 'work')
    assert any(h['type'] == 'TrainModeEmbeddingHook'
               for h in cfg.custom_hooks)
    runner = Runner.from_cfg(cfg)
    counter = _CountTextProjBatches(runner.model)
    runner.train()
    # per step: TCaF runs text_proj on the clips' texts and on the training
    # classes, then once more in the train-mode pass; AVCA on the texts of
    # the clips and of the negatives, then once more
    assert counter.runs() == 2 * per_step
    best = next(h.best for h in runner.hooks
                if type(h).__name__ == 'CalibrationHook')
    assert 0 <= best['HM'] <= 100 and best['epoch'] == 1
    assert all(torch.isfinite(p).all() for p in runner.model.parameters())
