import statistics, sys, time, json
import torch
torch.set_num_threads(2)
sys.path.insert(0, '.scratch')
from old_dtlif import DynamicThresholdLIF as Old
from stftbox.models.neurons import DynamicThresholdLIF as New
from stftbox.models.neurons.speed import build_neuron_pair, _fwd_bwd_seconds
shape = (10, 16, 120, 512)
g = torch.Generator().manual_seed(0)
x = torch.randn(*shape, generator=g) * 1.5
ctx = torch.randn(*shape, generator=g)
ns = {'LIFNode': build_neuron_pair()['LIFNode'],
      'before: input (old default)': Old(),
      'before: prev_output': Old(entropy_source='prev_output'),
      'after: prev_output (default)': New(),
      'after: input': New(entropy_source='input')}
reps = int(sys.argv[1]) if len(sys.argv) > 1 else 7
runs = {k: [] for k in ns}
for i in range(reps + 1):
    for k, n in ns.items():
        t = _fwd_bwd_seconds(n, x, ctx)
        if i: runs[k].append(t)
lif = statistics.median(w for w, _ in runs['LIFNode'])
lifc = statistics.median(c for _, c in runs['LIFNode'])
for k, r in runs.items():
    m = statistics.median(w for w, _ in r); c = statistics.median(c for _, c in r)
    print(f'{k:30s} wall {m:.3f} s (x{m / lif:.2f})  cpu {c:.3f} s (x{c / lifc:.2f})  wall runs {[round(w, 2) for w, _ in r]}')
