"""Time-step factor (TSF): learned weights over the T step outputs.

Source: STFT abstract [A] ("time-step factor"); docs/method.md: learned weights
over the T steps (softmax of a per-step score) replace the plain mean of
step outputs. The input-dependent score is an option [I].
"""
from typing import Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from stftbox.registry import MODELS

__all__ = ['TimeStepFactor']


@MODELS.register_module()
class TimeStepFactor(BaseModule):
    r"""Weighted average over time steps with softmax weights.

    .. math::
        w_{t,b} = \mathrm{softmax}_t\big((s_t + u^\top x_{t,b}) / \tau\big),
        \qquad y_b = \sum_t w_{t,b}\, x_{t,b}

    ``s`` is a learnable score per step (zeros at start, so the TSF starts as
    the plain mean); the input-dependent term ``u^T x`` (a zero-initialised
    ``Linear(in_channels, 1)``) is added only when ``input_dependent`` [I].
    The weights are positive and sum to 1 over ``T`` for every sample.

    Args:
        time_steps (int): ``T``, number of steps the module is built for.
            Default 10 [P].
        in_channels (int | None): feature size ``D``; required when
            ``input_dependent``.
        input_dependent (bool): add the per-sample score. Default False [I].
        temperature (float): softmax temperature ``tau`` > 0. Default 1.0.
        enabled (bool): False = plain mean over steps (the ablation without
            TSF); the module then has no parameters. Default True.
        init_cfg (dict | None): mmengine init config.

    Forward:
        ``step_outputs [T, B, D]`` -> ``[B, D]`` (same unit as the input,
        e.g. firing rates). :meth:`weights` gives ``[T, B]``; the last
        weights used are kept (detached) in :attr:`last_weights`.

    Raises:
        ValueError: ``time_steps < 1``, ``temperature <= 0``,
            ``input_dependent`` without ``in_channels``, or an input that is
            not 3-d or whose ``T`` differs from ``time_steps`` (when
            ``enabled``).
    """

    def __init__(self,
                 time_steps: int = 10,
                 in_channels: Optional[int] = None,
                 input_dependent: bool = False,
                 temperature: float = 1.0,
                 enabled: bool = True,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if time_steps < 1:
            raise ValueError(f'time_steps must be >= 1, got {time_steps}')
        if temperature <= 0:
            raise ValueError(f'temperature must be > 0, got {temperature}')
        if enabled and input_dependent and not in_channels:
            raise ValueError('input_dependent TimeStepFactor needs '
                             'in_channels')
        self.time_steps = int(time_steps)
        self.temperature = float(temperature)
        self.enabled = enabled
        self.input_dependent = input_dependent and enabled
        if enabled:
            self.step_scores = nn.Parameter(torch.zeros(self.time_steps))
        if self.input_dependent:
            self.score_proj = nn.Linear(in_channels, 1)
            nn.init.zeros_(self.score_proj.weight)
            nn.init.zeros_(self.score_proj.bias)
        self.last_weights: Optional[torch.Tensor] = None

    def _check(self, step_outputs: torch.Tensor) -> None:
        if step_outputs.dim() != 3:
            raise ValueError('TimeStepFactor expects step outputs [T, B, D], '
                             f'got shape {tuple(step_outputs.shape)}')
        if self.enabled and step_outputs.shape[0] != self.time_steps:
            raise ValueError(
                f'TimeStepFactor was built for {self.time_steps} steps, got '
                f'{step_outputs.shape[0]}')

    def weights(self, step_outputs: torch.Tensor) -> torch.Tensor:
        """Step weights ``[T, B]``, each column summing to 1 (uniform
        ``1 / T`` when disabled)."""
        self._check(step_outputs)
        num_steps, batch = step_outputs.shape[:2]
        if not self.enabled:
            return step_outputs.new_full((num_steps, batch), 1.0 / num_steps)
        score = self.step_scores.to(step_outputs.dtype)[:, None].expand(
            num_steps, batch)
        if self.input_dependent:
            score = score + self.score_proj(step_outputs).squeeze(-1)
        return torch.softmax(score / self.temperature, dim=0)

    def forward(self, step_outputs: torch.Tensor) -> torch.Tensor:
        if not self.enabled:
            self._check(step_outputs)
            out = step_outputs.mean(0)
            self.last_weights = None
            return out
        w = self.weights(step_outputs)
        self.last_weights = w.detach()
        return (w.unsqueeze(-1) * step_outputs).sum(0)

    def extra_repr(self) -> str:
        return (f'time_steps={self.time_steps}, enabled={self.enabled}, '
                f'input_dependent={self.input_dependent}')
