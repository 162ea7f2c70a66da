"""The two-stage AV-GZSL protocol (docs/data.md, Evaluation step 5)."""
import copy
import hashlib
import json
import os
import os.path as osp
from typing import Optional

from mmengine.config import Config
from mmengine.runner import Runner

from stftbox.fileio import (dump_json_atomic, sha256_file,
                            state_dict_sha256)

from .run_env import environment_mismatch, run_environment
from .runtime import build_runner


def _write_json(path: str, data: dict) -> None:
    dump_json_atomic(data, path)


def _read_json(path: str) -> Optional[dict]:
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def _set_phase(cfg: Config, loader: str, phase: str) -> None:
    cfg[loader]['dataset']['phase'] = phase


def _calibration_hook(runner: Runner) -> dict:
    for hook in runner.hooks:
        if type(hook).__name__ == 'CalibrationHook':
            return hook.best
    raise RuntimeError('run_protocol: the config has no CalibrationHook in '
                       'custom_hooks; it records the best epoch and beta')


def stage1_config(cfg: Config, work_dir: str) -> Config:
    """Stage 1: train on ``stage_1_train``, validate on ``stage_1_val``
    (sweeping beta) after every epoch."""
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = work_dir
    cfg.experiment_name = 'stage1'
    _set_phase(cfg, 'train_dataloader', 'stage_1_train')
    _set_phase(cfg, 'val_dataloader', 'stage_1_val')
    cfg.val_evaluator.calibration = 'sweep'
    return cfg


def stage2_config(cfg: Config, work_dir: str, epochs: int,
                  beta: float, stage1: Optional[dict] = None) -> Config:
    """Stage 2: retrain on ``stage_2_train`` (stage-1 train + val seen + val
    unseen) for ``epochs`` epochs without validation, then test on
    ``stage_2_test`` with the fixed ``beta``. Schedulers that monitor a
    validation metric (``ReduceOnPlateauLR``) have nothing to monitor and
    are dropped; the learning rate stays at its initial value. The
    ``CalibrationHook`` stores ``stage1`` (with ``beta``) in the stage-2
    checkpoints, so ``tools/test.py`` uses the protocol's beta."""
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = work_dir
    cfg.experiment_name = 'stage2'
    _set_phase(cfg, 'train_dataloader', 'stage_2_train')
    _set_phase(cfg, 'test_dataloader', 'stage_2_test')
    cfg.train_cfg.max_epochs = int(epochs)
    cfg.train_cfg.val_interval = int(epochs) + 1
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.param_scheduler = [
        s for s in (cfg.get('param_scheduler') or [])
        if 'monitor' not in s]
    cfg.default_hooks.checkpoint.save_best = None
    cfg.test_evaluator.calibration = float(beta)
    # no validation in stage 2: its checkpoints carry the stage-1 choice
    for hook in cfg.custom_hooks:
        if hook['type'] == 'CalibrationHook':
            chosen = {k: v for k, v in (stage1 or {}).items()
                      if k not in ('config_sha256', 'environment')}
            hook['best'] = dict(chosen, beta=float(beta), epoch=int(epochs))
    return cfg


def run_protocol(cfg: Config, work_dir: str,
                 threads: Optional[int] = None) -> dict:
    """Run both stages of the AV-GZSL protocol and test.

    Stage 1 trains on stage-1 train and picks the epoch and calibration beta
    with the best validation HM (``CalibrationHook``). Stage 2 retrains from
    scratch on train + val for that many epochs (best epoch + 1 counted from
    0) and tests on stage-2 test with the chosen beta, no sweep.

    The work is resumable: ``<work_dir>/stage1.json`` marks a finished
    stage 1 (it is not repeated); an interrupted stage 1 or stage 2 resumes
    from its last checkpoint (``<work_dir>/stage1``, ``stage2``). What the
    numbers depend on besides the config (library versions, torch threads,
    ``num_workers``, seed; :func:`~stftbox.engine.run_env.run_environment`)
    is recorded in ``stage1.json`` and the summary, and a rerun in another
    environment is refused instead of mixing two environments' results.
    Two runs with the same config and environment give identical weights
    (``weights_sha256``) and numbers.

    Args:
        cfg (Config): a stage-1 config (train / val / test dataloaders, a
            ``GZSLMetric`` evaluator, ``CalibrationHook``).
        work_dir (str): output folder.
        threads (int, optional): torch threads for both stages
            (``torch.set_num_threads``, restored on return); default:
            leave torch's setting.

    Returns:
        dict: the summary also written to ``<work_dir>/protocol.json``:
        ``stage1`` (epoch, beta, S, U, HM, ZSL on validation), ``test``
        (S, U, HM, ZSL in percent), ``beta``, ``epochs``, ``config``,
        ``checkpoint`` (relative to ``work_dir``) and its
        ``checkpoint_sha256``, ``weights_sha256``
        (:func:`~stftbox.fileio.state_dict_sha256` of the stage-2 weights,
        equal for two identical runs) and ``environment``.

    Raises:
        ConfigCheckError: the config has mistakes
            (:func:`~stftbox.engine.check_config`) or stage 1 would never
            validate; raised before any data is read.
        RuntimeError: if stage 1 produced no validation result, or
            ``stage1.json`` in ``work_dir`` was made with another config or
            environment.
    """
    from .config_check import ConfigCheckError, check_config
    check_config(cfg)
    train_cfg = cfg.get('train_cfg') or {}
    if train_cfg.get('val_interval', 1) > train_cfg.get('max_epochs', 1):
        raise ConfigCheckError([
            f"train_cfg.val_interval: {train_cfg['val_interval']} > "
            f"train_cfg.max_epochs {train_cfg['max_epochs']}: stage 1 would "
            'never validate, so no epoch and beta could be chosen'])
    import torch
    saved_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(int(threads))
    try:
        return _run_stages(cfg, work_dir)
    finally:  # the caller's process as it was
        torch.set_num_threads(saved_threads)


def _run_stages(cfg: Config, work_dir: str) -> dict:
    """Body of :func:`run_protocol` (threads already set)."""
    env = run_environment(cfg)
    os.makedirs(work_dir, exist_ok=True)
    stage1_file = osp.join(work_dir, 'stage1.json')
    fingerprint = hashlib.sha256(cfg.pretty_text.encode()).hexdigest()
    stage1 = _read_json(stage1_file)
    if stage1 is not None and stage1.get('config_sha256') != fingerprint:
        raise RuntimeError(
            f'run_protocol: {stage1_file} was made with another config; '
            'use a new --work-dir or delete that file to rerun stage 1')
    if stage1 is not None:
        differ = environment_mismatch(stage1.get('environment', {}), env)
        if differ:
            raise RuntimeError(
                f'run_protocol: {stage1_file} was made in another '
                f'environment ({"; ".join(differ)}); the numbers would mix '
                'two environments: use a new --work-dir or the recorded '
                'settings (e.g. --threads)')
    if stage1 is None:
        cfg1 = stage1_config(cfg, osp.join(work_dir, 'stage1'))
        if osp.isfile(osp.join(work_dir, 'stage1', 'last_checkpoint')):
            cfg1.resume = True  # an interrupted stage 1 continues
        runner = build_runner(cfg1)
        runner.train()
        stage1 = _calibration_hook(runner)
        if not stage1:
            raise RuntimeError('run_protocol: stage 1 recorded no '
                               'validation HM (is val_interval > epochs?)')
        stage1 = dict(stage1, config_sha256=fingerprint, environment=env)
        _write_json(stage1_file, stage1)
    epochs, beta = int(stage1['epoch']), float(stage1['beta'])

    stage2_dir = osp.join(work_dir, 'stage2')
    cfg2 = stage2_config(cfg, stage2_dir, epochs, beta, stage1)
    final_ckpt = osp.join(stage2_dir, f'epoch_{epochs}.pth')
    if osp.isfile(osp.join(stage2_dir, 'last_checkpoint')):
        cfg2.resume = True
    runner = build_runner(cfg2)
    if not osp.isfile(final_ckpt):
        runner.train()
    else:
        runner.load_checkpoint(final_ckpt)
    metrics = runner.test()
    summary = dict(
        config=cfg.filename,
        stage1=stage1,
        epochs=epochs,
        beta=beta,
        test={k.split('/')[-1]: v for k, v in metrics.items()
              if k.split('/')[-1] in ('S', 'U', 'HM', 'ZSL')},
        # relative to work_dir: the folder can be moved or copied
        checkpoint=osp.relpath(final_ckpt, work_dir),
        checkpoint_sha256=sha256_file(final_ckpt),
        weights_sha256=state_dict_sha256(runner.model.state_dict()),
        environment=env)
    _write_json(osp.join(work_dir, 'protocol.json'), summary)
    return summary
