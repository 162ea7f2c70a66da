"""Made once with the SNNBranch of commit e81cee5 (joined a+v sequence,
segment ids, windows_within_segments=True; the API it calls is gone since):
reference outputs and gradients for tests/test_models/test_snn_modalities.py."""
import torch
from stftbox.apis import register_all_modules
from stftbox.registry import MODELS
from stftbox.models.backbones.snn_branch import join_modalities
register_all_modules()
C, D, T, LA, LV, B = 6, 8, 4, 3, 5, 3
out = {}
for k in (1, 3):
    torch.manual_seed(k)
    br = MODELS.build(dict(type='SNNBranch', in_channels=C, embed_dims=D,
                           time_steps=T, num_blocks=2, kernel_size=k,
                           dropout=0.0,
                           neuron=dict(type='DynamicThresholdLIF',
                                       surrogate=dict(type='ATan', alpha=2.0)),
                           pooling=dict(type='GlobalLocalPooling', kernel_size=3),
                           tsf=dict(type='TimeStepFactor', time_steps=T)))
    with torch.no_grad():
        for p in br.parameters():
            p.add_(0.3 * torch.randn_like(p))
    g = torch.Generator().manual_seed(10 + k)
    a = 2 * torch.randn(B, LA, C, generator=g)
    v = 2 * torch.randn(B, LV, C, generator=g)
    am = torch.zeros(B, LA, dtype=torch.bool)
    vm = torch.zeros(B, LV, dtype=torch.bool)
    am_p, vm_p = am.clone(), vm.clone()
    am_p[1, 2:] = True
    vm_p[2, 3:] = True
    case = dict(state=br.state_dict(), audio=a, video=v)
    for name, (m1, m2) in dict(unpadded=(am, vm), padded=(am_p, vm_p)).items():
        aa = a.clone().requires_grad_()
        vv = v.clone().requires_grad_()
        br.train()
        res = br(*join_modalities(aa, vv, m1, m2))
        gemb = torch.randn(res['embedding'].shape, generator=g)
        (res['embedding'] * gemb).sum().backward()
        case[name] = dict(audio_mask=m1, video_mask=m2,
                          embedding=res['embedding'].detach(),
                          step_outputs=res['step_outputs'].detach(),
                          grad_out=gemb, grad_audio=aa.grad, grad_video=vv.grad,
                          grads={n: p.grad.clone() for n, p in br.named_parameters()})
        br.zero_grad()
    out[f'kernel{k}'] = case
torch.save(out, 'tests/data/snn_reference/windows_within_segments.pt')
print({k: v['unpadded']['embedding'][0, :4] for k, v in out.items()})
