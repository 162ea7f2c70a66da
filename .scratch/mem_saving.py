"""Scratch: peak RSS and step time of a paper-width STFT training step
(configs/stft_vggsound.py, audio 10 x 128, video 16 x 4096) with
snn_branch.memory_saving off/on. One config per process."""
import resource, sys, time, statistics, json
import torch
torch.set_num_threads(2)
from mmengine.config import Config
from stftbox.apis import register_all_modules
from stftbox.registry import MODELS
batch, saving = int(sys.argv[1]), sys.argv[2] == '1'
cfg_path = sys.argv[3] if len(sys.argv) > 3 else 'configs/stft_vggsound.py'
register_all_modules()
cfg = Config.fromfile(cfg_path)
cfg.model.backbone.snn_branch.memory_saving = saving
torch.manual_seed(0)
model = MODELS.build(cfg.model).train()
text = cfg.model.head.get('text_channels', 300)
model.set_class_embeddings(torch.randn(20, text), train_class_ids=list(range(10)))
bb = cfg.model.backbone
g = torch.Generator().manual_seed(0)
data = dict(audio=torch.randn(batch, 10, bb.audio_channels, generator=g),
            video=torch.randn(batch, 16, bb.video_channels, generator=g),
            audio_padding_mask=torch.zeros(batch, 10, dtype=torch.bool),
            video_padding_mask=torch.zeros(batch, 16, dtype=torch.bool))
data['audio_padding_mask'][0, 7:] = True
labels = torch.arange(batch) % 10
opt = torch.optim.Adam(model.parameters(), lr=1e-4)
base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
times, cpu = [], []
for i in range(4):
    t, c = time.perf_counter(), time.process_time()
    losses = model(data, dict(labels=labels), mode='loss')
    opt.zero_grad()
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    opt.step()
    if i:
        times.append(time.perf_counter() - t); cpu.append(time.process_time() - c)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(dict(config=cfg_path, batch=batch, memory_saving=saving,
                      peak_rss_mb=round(peak), rss_before_train_mb=round(base_rss),
                      step_s_median=round(statistics.median(times), 3),
                      step_cpu_s_median=round(statistics.median(cpu), 3))))
