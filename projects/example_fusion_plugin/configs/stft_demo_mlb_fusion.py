# configs/stft_demo.py with the plugin's MLB fusion instead of the Tucker
# fusion (at both scales), from the repository root:
#   python tools/train.py projects/example_fusion_plugin/configs/stft_demo_mlb_fusion.py
import sys

_base_ = ['../../../configs/stft_demo.py']

# Make the plugin package importable without installing it: put the project
# folder (the parent of this config's folder) on sys.path. Names starting
# with '__' are not kept in the config. After
# `pip install -e projects/example_fusion_plugin` this is a no-op.
__plugin_root = '{{ fileDirname }}/..'
if __plugin_root not in sys.path:
    sys.path.insert(0, __plugin_root)

# mmengine imports these modules when it reads the config; importing
# stftbox_fusion_plugin registers MLBFusion in stftbox's FUSIONS registry.
custom_imports = dict(imports=['stftbox_fusion_plugin'],
                      allow_failed_imports=False)

model = dict(
    backbone=dict(
        fusion=dict(_delete_=True, type='MLBFusion', rank=32,
                    activation='Tanh', dropout=0.1)))
