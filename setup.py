"""stftbox: audio-visual GZSL with spiking neural networks (STFT)."""
import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def read_requirements(name):
    lines = (HERE / 'requirements' / name).read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith('#')]


version = re.search(r"__version__ = '([^']+)'",
                    (HERE / 'stftbox' / '__init__.py').read_text()).group(1)

setup(
    name='stftbox',
    version=version,
    description='OpenMMLab-style toolbox for audio-visual generalised '
    'zero-shot learning with spiking neural networks (STFT)',
    long_description=(HERE / 'README.md').read_text(),
    long_description_content_type='text/markdown',
    python_requires='>=3.9',
    packages=find_packages(include=['stftbox', 'stftbox.*']),
    # .mim/configs is a symlink to configs/ (editable installs use it in
    # place; wheels and sdists copy the files it points at): base configs
    # named 'stftbox::<path>' by configs outside the repository
    # .mim/model-index.yml imports .mim/configs/**/metafile.yml: what
    # `mim search stftbox` and stftbox.apis.list_models read
    package_data={'stftbox': ['datasets/avgzsl_splits/**/*',
                              '.mim/model-index.yml',
                              '.mim/configs/*.py', '.mim/configs/**/*.py',
                              '.mim/configs/*.yml',
                              '.mim/configs/**/*.yml']},
    include_package_data=True,
    install_requires=read_requirements('runtime.txt'),
    extras_require={'tests': read_requirements('tests.txt'),
                    'vis': read_requirements('vis.txt'),
                    'deploy': read_requirements('deploy.txt')},
    zip_safe=False,
)
