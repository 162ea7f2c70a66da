import torch
from stftbox.models.neurons import DynamicThresholdLIF
torch.manual_seed(0)
import sys
for src in ['prev_output','input']:
  for vr in [0.0, None]:
   for dr in [False, True]:
    for T1 in [False, True]:
      x = (torch.randn(1 if T1 else 5, 3, 4, 16)*2)
      c = torch.randn(5, 3, 4, 16)
      w = torch.randn(5, 3, 4, 16)
      res=[]
      for fast in [True, False]:
        n = DynamicThresholdLIF(entropy_source=src, v_reset=vr, glp_weight=0.7, detach_reset=dr)
        if not fast: n._fast_path = lambda x: None
        xx = x.clone().requires_grad_(); cc=c.clone().requires_grad_()
        xe = xx.expand(5, *x.shape[1:])
        s = n(xe, context=cc)
        (s*w).sum().backward()
        res.append((s.detach(), n.last_threshold.clone(), xx.grad.clone(), cc.grad.clone(), {k:p.grad.clone() for k,p in n.named_parameters()}, n.v.clone(), n.prev_rate.clone()))
      a,b=res
      print([ (torch.isnan(r[2]).any().item(), torch.isinf(r[2]).any().item()) for r in res])
      print(src, vr, dr, T1, torch.equal(a[0],b[0]), torch.allclose(a[1],b[1]), '%.2e %.2e'%((a[2]-b[2]).abs().max().item(), (a[3]-b[3]).abs().max().item()), {k:'%.1e'%(a[4][k]-b[4][k]).abs().item() for k in a[4]}, torch.allclose(a[5],b[5]), torch.allclose(a[6],b[6]), '%.3f'%s.mean().item())
