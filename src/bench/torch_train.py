# PyTorch reference for `clearbench bench train` (the side-by-side throughput figure in the README): the same standard causal
# LM (vocab 1000, d 128, 4 layers, 4 heads, MLP x4, learned positions, pre-norm LayerNorm, exact GELU,
# untied head), batch 16 x 64, AdamW, on 2 threads; prints the median step over 30 steps after 5 of warm-up.
#
# Not part of the test suite. Debian: apt-get install python3-torch libopenblas0-pthread, then
#   OPENBLAS_NUM_THREADS=1 /usr/bin/python3 src/bench/torch_train.py
# OPENBLAS_NUM_THREADS=1 is PyTorch's best setting here: otherwise OpenBLAS's own pthreads compete with
# PyTorch's 2 intra-op threads and the step is ~2x slower (5,500 against 10,800 tokens/s, 2026-11-24).
import time, statistics, torch, torch.nn as nn, torch.nn.functional as F
torch.manual_seed(0); torch.set_num_threads(2)
V, D, L, H, B, T = 1000, 128, 4, 4, 16, 64
class Block(nn.Module):
    def __init__(s):
        super().__init__(); s.n1 = nn.LayerNorm(D); s.qkv = nn.Linear(D, 3 * D); s.o = nn.Linear(D, D); s.n2 = nn.LayerNorm(D); s.f1 = nn.Linear(D, 4 * D); s.f2 = nn.Linear(4 * D, D)
    def forward(s, x, mask):
        q, k, v = s.qkv(s.n1(x)).view(B, T, 3, H, D // H).permute(2, 0, 3, 1, 4)
        a = ((q / (D // H) ** 0.5) @ k.transpose(-1, -2) + mask).softmax(-1) @ v
        x = x + s.o(a.transpose(1, 2).reshape(B, T, D))
        return x + s.f2(F.gelu(s.f1(s.n2(x))))
class LM(nn.Module):
    def __init__(s):
        super().__init__(); s.tok = nn.Embedding(V, D); s.pos = nn.Parameter(torch.zeros(T, D)); s.blocks = nn.ModuleList([Block() for _ in range(L)]); s.nf = nn.LayerNorm(D); s.head = nn.Linear(D, V, bias=False)
    def forward(s, ids, mask):
        x = s.tok(ids) + s.pos
        for b in s.blocks: x = b(x, mask)
        return s.head(s.nf(x))
m = LM(); opt = torch.optim.AdamW(m.parameters(), lr=1e-3)
mask = torch.triu(torch.full((T, T), -1e9), 1)
ids = torch.randint(0, V, (B, T)); labels = (ids * 7 + 3) % V
times = []
for i in range(35):
    t0 = time.perf_counter()
    loss = F.cross_entropy(m(ids, mask).view(-1, V), labels.view(-1))
    opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
    if i >= 5: times.append(time.perf_counter() - t0)
step = statistics.median(times)
print(f"torch {torch.__version__}: params {sum(p.numel() for p in m.parameters())}, median step {step*1000:.1f} ms, {B*T/step:.0f} tokens/s")
