"""Scratch: fwd+bwd time of DynamicThresholdLIF vs spikingjelly LIFNode,
[10, 16, 120, 512], interleaved, median."""
import sys, time, statistics
import torch
torch.set_num_threads(2)
from spikingjelly.activation_based import neuron as sjn, surrogate, functional
from stftbox.models.neurons import DynamicThresholdLIF

shape = (10, 16, 120, 512)
g = torch.Generator().manual_seed(0)
x0 = torch.randn(*shape, generator=g) * 1.5
c0 = torch.randn(*shape, generator=g)
kw = dict(e.split('=') for e in sys.argv[1:])
use_ctx = kw.pop('ctx', '0') == '1'
reps = int(kw.pop('reps', 7))
def run(n, ctx):
    x = x0.clone().requires_grad_()
    c = c0.clone().requires_grad_() if ctx else None
    functional.reset_net(n)
    t = time.perf_counter()
    y = n(x, c) if ctx else n(x)
    y.sum().backward()
    return time.perf_counter() - t
lif = sjn.LIFNode(step_mode='m', surrogate_function=surrogate.ATan())
dyn = DynamicThresholdLIF(**kw)
res = {'lif': [], 'dyn': []}
for i in range(reps):
    res['lif'].append(run(lif, False)); res['dyn'].append(run(dyn, use_ctx))
for k, v in res.items():
    print(k, 'median %.3f s' % statistics.median(v[1:]), ['%.3f' % a for a in v])
print('ratio %.2f' % (statistics.median(res['dyn'][1:]) / statistics.median(res['lif'][1:])), kw, 'ctx', use_ctx)
