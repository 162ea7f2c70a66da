import time, torch, statistics, sys
torch.set_num_threads(2)
from stftbox.models.backbones import SNNBranch
batch = int(sys.argv[1])
torch.manual_seed(0)
brs = {s: SNNBranch(512, 512, memory_saving=s, dropout=0.1).train() for s in (False, True)}
brs[True].load_state_dict(brs[False].state_dict())
x = torch.randn(batch, 26, 512)
seg = torch.zeros(batch, 26, dtype=torch.long); seg[:, 10:] = 1
res = {False: [], True: []}
for i in range(6):
    for s, br in brs.items():
        t = time.perf_counter(); c = time.process_time()
        br(x, None, seg)['embedding'].sum().backward()
        if i: res[s].append((time.perf_counter() - t, time.process_time() - c))
for s, r in res.items():
    print(f'batch {batch} memory_saving={s}: wall min {min(w for w,_ in r):.3f} median {statistics.median(w for w,_ in r):.3f} s; cpu min {min(c for _,c in r):.3f} median {statistics.median(c for _,c in r):.3f} s')
