import resource, sys, time, json, gc
import torch
torch.set_num_threads(2)
from stftbox.models.backbones import SNNBranch
batch, saving = int(sys.argv[1]), sys.argv[2] == '1'
torch.manual_seed(0)
br = SNNBranch(512, 512, memory_saving=saving, dropout=0.1).train()
x = torch.randn(batch, 26, 512)
seg = torch.zeros(batch, 26, dtype=torch.long); seg[:, 10:] = 1
def rss(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
from torch.profiler import profile, ProfilerActivity
base = rss()
out = br(x, None, seg)
(out['embedding'].sum()).backward()
p1 = rss()
if 0:
    pass
    pass

print(json.dumps(dict(batch=batch, saving=saving, rss_base=round(base), rss_peak=round(p1))))

