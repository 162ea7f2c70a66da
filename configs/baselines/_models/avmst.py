# AVMST-style baseline (the STFT authors' ICME 2023 model, built on AVCA;
# docs/method.md [P]), from stftbox parts: the STFT model of
# ../../_base_/models/stft.py with a plain integrate-and-fire SNN branch
# (IFNode, no GLP, no TSF: mean over steps), a transformer branch without
# knowledge slots, and a single-scale concat fusion of the two branch
# outputs [I]. Same encoders, head and losses as STFT.
_base_ = ['../../_base_/models/stft.py']
model = dict(
    type='AVGZSLClassifier',
    backbone=dict(
        snn_branch=dict(neuron=dict(type='IFNode'), pooling=None, tsf=None),
        transformer_branch=dict(knowledge_combiner=None),
        fusion=dict(_delete_=True, type='ConcatFusion', activation='GELU'),
        multi_scale=None))
