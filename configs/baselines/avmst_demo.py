# Deprecated name, kept for one release so existing scripts keep running:
# this model was renamed configs/baselines/spiking_avca_demo.py (SpikingAVCA:
# the exact AVCA + an SNN branch on the encoded tokens), because it is not
# the released AVMST (ICME 2023). The exact AVMST port is
# configs/baselines/avmst_{ucf,vggsound,activitynet}_main.py
# (docs/baselines.md). Use spiking_avca_demo.py in new work.
_base_ = ['./spiking_avca_demo.py']
