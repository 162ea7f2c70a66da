import resource, sys, os
import torch
torch.set_num_threads(2)
from stftbox.models.backbones import SNNBranch
batch, saving = int(sys.argv[1]), sys.argv[2] == '1'
torch.manual_seed(0)
br = SNNBranch(512, 512, memory_saving=saving, dropout=0.1).train()
x = torch.randn(batch, 26, 512)
seg = torch.zeros(batch, 26, dtype=torch.long); seg[:, 10:] = 1
def cur(): return int(open('/proc/self/statm').read().split()[1]) * 4096 / 2**20
def mx(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print('start cur %.0f max %.0f' % (cur(), mx()))
for i, b in enumerate(br.blocks):
    b.register_forward_hook(lambda m, inp, o, i=i: print(f'after block {i} fwd cur %.0f max %.0f' % (cur(), mx())))
out = br(x, None, seg)
print('after fwd cur %.0f max %.0f' % (cur(), mx()))
out['embedding'].sum().backward()
print('after bwd cur %.0f max %.0f' % (cur(), mx()))
