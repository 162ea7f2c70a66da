# configs/stft_demo.py with the plugin's MLB fusion instead of the Tucker
# fusion (at both scales). From this folder, or from anywhere:
#   python <stftbox>/tools/train.py stft_demo_mlb_fusion.py
# `stftbox::` names a config shipped with the installed stftbox package.
_base_ = ['stftbox::stft_demo.py']

# mmengine imports these modules when it reads the config; importing
# stftbox_fusion_plugin (the package next to this file: the stftbox tools
# put the config's folder on sys.path) registers MLBFusion in stftbox's
# FUSIONS registry.
custom_imports = dict(imports=['stftbox_fusion_plugin'],
                      allow_failed_imports=False)

model = dict(
    backbone=dict(
        fusion=dict(_delete_=True, type='MLBFusion', rank=32,
                    activation='Tanh', dropout=0.1)))
