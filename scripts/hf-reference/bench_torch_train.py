#!/usr/bin/env python3
"""PyTorch's side of `clearbench bench train --model DIR`: the same training step (the reference forward of
make_fixtures.py in float32, token cross-entropy on random tokens, AdamW over every weight) on a random
Llama/Qwen2 of DIR's config.json, timed on this machine's cores.

Run:  /usr/bin/python3 scripts/hf-reference/bench_torch_train.py DIR [--batch 4] [--seq 128] [--steps 5] [--threads 2]
Prints one JSON line: tokens_per_s, step_s, params, peak_rss_mb, blas.
Debian's torch calls whichever libblas.so.3 the alternatives system points at: with only the reference BLAS
(libblas3) a step is ~30x slower (SmolLM2-width, 4 layers: 12 tokens/s). Install libopenblas0-pthread first;
the script names the BLAS it found and warns when it is not an optimised one.
"""
import argparse
import json
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import forward, random_weights  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument('dir')
ap.add_argument('--batch', type=int, default=4)
ap.add_argument('--seq', type=int, default=128)
ap.add_argument('--steps', type=int, default=5)
ap.add_argument('--warmup', type=int, default=2)
ap.add_argument('--threads', type=int, default=2)
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.ones(64, 64) @ torch.ones(64, 64)  # loads the BLAS, so its library shows in the maps
blas = sorted({os.path.basename(l.split()[-1]) for l in open('/proc/self/maps') if 'blas' in l.split()[-1]})
if not any('openblas' in b or 'mkl' in b for b in blas):
    print(f'warning: torch runs on {blas or "no BLAS"}, not an optimised one; apt-get install libopenblas0-pthread', file=sys.stderr)
cfg = json.load(open(os.path.join(a.dir, 'config.json')))
cfg.setdefault('head_dim', cfg['hidden_size'] // cfg['num_attention_heads'])
gen = torch.Generator().manual_seed(0)
W = {k: v.float().requires_grad_() for k, v in random_weights(cfg, gen).items()}
if cfg['tie_word_embeddings']:
    W.pop('lm_head.weight', None)
opt = torch.optim.AdamW(list(W.values()), lr=1e-4)
B, S, V = a.batch, a.seq, cfg['vocab_size']
ids = torch.randint(0, V, (B, S), generator=gen)
targets = torch.randint(0, V, (B, S), generator=gen)
positions = torch.arange(S)[None].expand(B, S)
mask = torch.ones(B, S, dtype=torch.long)


def step():
    opt.zero_grad()
    loss = torch.nn.functional.cross_entropy(forward(cfg, W, ids, positions, mask).reshape(B * S, V), targets.reshape(-1))
    loss.backward()
    opt.step()


for _ in range(a.warmup):
    step()
t0 = time.perf_counter()
for _ in range(a.steps):
    step()
s = (time.perf_counter() - t0) / a.steps
print(json.dumps({'torch': torch.__version__, 'threads': a.threads, 'params': sum(v.numel() for v in W.values()),
                  'tokens_per_s': B * S / s, 'step_s': s, 'blas': blas, 'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
