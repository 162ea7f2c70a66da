"""The demo model (configs/stft_demo.py + the shipped demo checkpoint),
built once per session for the inference tests."""
import os.path as osp

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO_CONFIG = osp.join(REPO, 'configs', 'stft_demo.py')
DEMO_CKPT = osp.join(REPO, 'checkpoints', 'stft_demo_ucf_surrogate.pth')


@pytest.fixture(scope='session')
def demo_model():
    from stftbox.apis import init_model
    return init_model(DEMO_CONFIG, DEMO_CKPT)
