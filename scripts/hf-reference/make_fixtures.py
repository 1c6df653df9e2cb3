#!/usr/bin/env python3
"""Tiny random Llama / Qwen2 checkpoints in the Hugging Face hub layout, with reference logits and LoRA
gradients, for test/models/hf/parity.test.ts.

The reference is written here from the published semantics of transformers' modeling_llama.py and
modeling_qwen2.py (transformers itself is not used): RMSNorm (x * rsqrt(mean(x^2) + eps) * weight), rotary
embeddings with rope_theta and rotate_half (the llama3 rope_scaling of _compute_llama3_parameters), grouped-
query attention (repeat_kv), SwiGLU MLP (down(silu(gate(x)) * up(x))), optional head_dim, q/k/v biases for
Qwen2 (and Llama's attention_bias), tied or separate lm_head. It computes in float64 from the stored
(possibly BF16/F16-rounded) weights. LoRA follows PEFT: y += scale * B(A(x)), scale = alpha / r.

Run with Debian's python3-torch (1.13):  /usr/bin/python3 scripts/hf-reference/make_fixtures.py
It rewrites test/fixtures/hf/<name>/ (config.json, weights, tokenizer files, expected.safetensors, expected.json).
"""
import json
import math
import os
import shutil
import struct

import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'hf')

SPECIALS = ['<|begin_of_text|>', '<|eot_id|>', '<|start_header_id|>', '<|end_header_id|>', '<|im_start|>', '<|im_end|>', '<|endoftext|>']
VOCAB = 264  # 256 bytes + 7 specials, padded as real checkpoints pad their embedding tables

LLAMA_TEMPLATE = ("{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + "
                  "'<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}"
                  "{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}")
QWEN_TEMPLATE = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
                 "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


def bytes_to_unicode():
    """GPT-2's byte -> printable character table (ByteLevel pre-tokenizer)."""
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def tokenizer_files(template, bos, eos, pad):
    b2u = bytes_to_unicode()
    vocab = {b2u[b]: b for b in range(256)}
    added = [{'id': 256 + i, 'content': s, 'single_word': False, 'lstrip': False, 'rstrip': False, 'normalized': False, 'special': True}
             for i, s in enumerate(SPECIALS)]
    for t in added:
        vocab[t['content']] = t['id']
    byte_level = {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': True}
    tok = {'version': '1.0', 'truncation': None, 'padding': None, 'added_tokens': added, 'normalizer': None,
           'pre_tokenizer': byte_level, 'post_processor': None, 'decoder': byte_level,
           'model': {'type': 'BPE', 'dropout': None, 'unk_token': None, 'continuing_subword_prefix': None, 'end_of_word_suffix': None,
                     'fuse_unk': False, 'byte_fallback': False, 'ignore_merges': False, 'vocab': vocab, 'merges': []}}
    cfg = {'chat_template': template, 'eos_token': eos, 'pad_token': pad, 'clean_up_tokenization_spaces': False, 'tokenizer_class': 'PreTrainedTokenizerFast'}
    if bos is not None:
        cfg['bos_token'] = bos
    return tok, cfg


def write_safetensors(path, tensors):
    """tensors: list of (name, torch tensor already in its storage dtype)."""
    codes = {torch.float32: 'F32', torch.bfloat16: 'BF16', torch.float16: 'F16'}
    header, blobs, off = {'__metadata__': {'format': 'pt'}}, [], 0
    for name, t in sorted(tensors, key=lambda x: x[0]):
        t = t.contiguous()
        raw = t.view(torch.int16).numpy().tobytes() if t.dtype in (torch.bfloat16, torch.float16) else t.numpy().tobytes()
        header[name] = {'dtype': codes[t.dtype], 'shape': list(t.shape), 'data_offsets': [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# ---- the reference computation ----

def inv_freq(cfg):
    d = cfg['head_dim']
    inv = 1.0 / (cfg['rope_theta'] ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    rs = cfg.get('rope_scaling')
    if not rs:
        return inv
    factor, low, high, old = rs['factor'], rs['low_freq_factor'], rs['high_freq_factor'], rs['original_max_position_embeddings']
    low_wl, high_wl = old / low, old / high
    wavelen = 2 * math.pi / inv
    scaled = torch.where(wavelen > low_wl, inv / factor, inv)
    smooth = (old / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = ~(wavelen < high_wl) & ~(wavelen > low_wl)
    return torch.where(medium, smoothed, scaled)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def forward(cfg, W, ids, positions, key_mask, lora=None, embeds=None):
    """Logits [B, S, V]. W: hub names -> float64 tensors ([out, in] projections). lora: prefix -> (A [in, r], B [r, out], scale).
    embeds: input embeddings [B, S, D] in place of the ids' (LLaVA's, with the image features placed)."""
    B, S = ids.shape
    H, KVH, dh = cfg['num_attention_heads'], cfg['num_key_value_heads'], cfg['head_dim']
    eps = cfg['rms_norm_eps']

    def lin(x, prefix, bias):
        y = x @ W[prefix + '.weight'].T
        if bias:
            y = y + W[prefix + '.bias']
        if lora and prefix in lora:
            A, Bm, scale = lora[prefix]
            y = y + (x @ A) @ Bm * scale
        return y

    dtype = W['model.norm.weight'].dtype  # float64 for the fixtures; float32 for a speed comparison
    freqs = positions.to(dtype)[..., None] * inv_freq(cfg).to(dtype)  # [B, S, dh/2]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[:, None], emb.sin()[:, None]
    allowed = torch.tril(torch.ones(S, S, dtype=torch.bool))[None, None] & key_mask[:, None, None, :].bool()
    qkv_bias = cfg['model_type'] == 'qwen2' or cfg.get('attention_bias', False)
    o_bias = cfg['model_type'] == 'llama' and cfg.get('attention_bias', False)
    h = W['model.embed_tokens.weight'][ids] if embeds is None else embeds
    for l in range(cfg['num_hidden_layers']):
        p = f'model.layers.{l}'
        a = rms_norm(h, W[p + '.input_layernorm.weight'], eps)
        q = lin(a, p + '.self_attn.q_proj', qkv_bias).view(B, S, H, dh).transpose(1, 2)
        k = lin(a, p + '.self_attn.k_proj', qkv_bias).view(B, S, KVH, dh).transpose(1, 2)
        v = lin(a, p + '.self_attn.v_proj', qkv_bias).view(B, S, KVH, dh).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(H // KVH, dim=1)  # repeat_kv
        v = v.repeat_interleave(H // KVH, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(dh)
        scores = scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)
        ctx = (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, S, H * dh)
        h = h + lin(ctx, p + '.self_attn.o_proj', o_bias)
        m = rms_norm(h, W[p + '.post_attention_layernorm.weight'], eps)
        gate = lin(m, p + '.mlp.gate_proj', False)
        h = h + lin(torch.nn.functional.silu(gate) * lin(m, p + '.mlp.up_proj', False), p + '.mlp.down_proj', False)
    h = rms_norm(h, W['model.norm.weight'], eps)
    head = W['model.embed_tokens.weight'] if cfg['tie_word_embeddings'] else W['lm_head.weight']
    return h @ head.T


# ---- fixtures ----

def random_weights(cfg, gen):
    D, I, V = cfg['hidden_size'], cfg['intermediate_size'], cfg['vocab_size']
    H, KVH, dh = cfg['num_attention_heads'], cfg['num_key_value_heads'], cfg['head_dim']
    qkv_bias = cfg['model_type'] == 'qwen2' or cfg.get('attention_bias', False)
    o_bias = cfg['model_type'] == 'llama' and cfg.get('attention_bias', False)
    n = lambda *shape, std=1.0: torch.randn(*shape, generator=gen, dtype=torch.float32) * std
    W = {'model.embed_tokens.weight': n(V, D)}
    for l in range(cfg['num_hidden_layers']):
        p = f'model.layers.{l}'
        W[p + '.input_layernorm.weight'] = 1 + n(D, std=0.1)
        W[p + '.post_attention_layernorm.weight'] = 1 + n(D, std=0.1)
        for name, out in (('q_proj', H * dh), ('k_proj', KVH * dh), ('v_proj', KVH * dh)):
            W[f'{p}.self_attn.{name}.weight'] = n(out, D, std=D ** -0.5)
            if qkv_bias:
                W[f'{p}.self_attn.{name}.bias'] = n(out, std=0.1)
        W[p + '.self_attn.o_proj.weight'] = n(D, H * dh, std=(H * dh) ** -0.5)
        if o_bias:
            W[p + '.self_attn.o_proj.bias'] = n(D, std=0.1)
        W[p + '.mlp.gate_proj.weight'] = n(I, D, std=D ** -0.5)
        W[p + '.mlp.up_proj.weight'] = n(I, D, std=D ** -0.5)
        W[p + '.mlp.down_proj.weight'] = n(D, I, std=I ** -0.5)
    W['model.norm.weight'] = 1 + n(D, std=0.1)
    if not cfg['tie_word_embeddings']:
        W['lm_head.weight'] = n(V, D, std=D ** -0.5)
    return W


FIXTURES = [
    # name, architecture, config overrides, storage dtype, shards
    ('llama-gqa-tied-bf16-sharded', 'llama', dict(num_attention_heads=4, num_key_value_heads=2, head_dim=12, tie_word_embeddings=True,
        rope_theta=500000.0, rms_norm_eps=1e-5,
        rope_scaling=dict(rope_type='llama3', factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0, original_max_position_embeddings=16)),
        torch.bfloat16, 2),
    ('llama-mha-untied-f32', 'llama', dict(num_attention_heads=4, num_key_value_heads=4, tie_word_embeddings=False, rope_theta=10000.0,
        rms_norm_eps=1e-6, attention_bias=True), torch.float32, 1),
    ('qwen2-gqa-untied-f32', 'qwen2', dict(num_attention_heads=4, num_key_value_heads=1, tie_word_embeddings=False, rope_theta=1000000.0,
        rms_norm_eps=1e-6, use_sliding_window=False, sliding_window=32, max_window_layers=2), torch.float32, 1),
    ('qwen2-tied-f16-sharded', 'qwen2', dict(num_attention_heads=2, num_key_value_heads=2, tie_word_embeddings=True, rope_theta=10000.0,
        rms_norm_eps=1e-6, use_sliding_window=False), torch.float16, 3),
]

LORA_TARGETS = ['q_proj', 'v_proj', 'down_proj']


def make(name, arch, over, dtype, shards, seed):
    gen = torch.Generator().manual_seed(seed)
    cfg = dict(architectures=['LlamaForCausalLM' if arch == 'llama' else 'Qwen2ForCausalLM'], model_type=arch, vocab_size=VOCAB, hidden_size=32,
               intermediate_size=48, num_hidden_layers=2, max_position_embeddings=64, hidden_act='silu', initializer_range=0.02,
               torch_dtype={torch.float32: 'float32', torch.bfloat16: 'bfloat16', torch.float16: 'float16'}[dtype], use_cache=True)
    if arch == 'llama':
        cfg.update(attention_bias=False, attention_dropout=0.0, mlp_bias=False, pretraining_tp=1, bos_token_id=256, eos_token_id=257)
    else:
        cfg.update(attention_dropout=0.0, bos_token_id=262, eos_token_id=261)
    cfg.update(over)
    stored = {k: v.to(dtype) for k, v in random_weights({**cfg, 'head_dim': cfg.get('head_dim', cfg['hidden_size'] // cfg['num_attention_heads'])}, gen).items()}
    ref_cfg = {**cfg, 'head_dim': cfg.get('head_dim', cfg['hidden_size'] // cfg['num_attention_heads'])}
    W = {k: v.to(torch.float64) for k, v in stored.items()}

    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    with open(os.path.join(d, 'config.json'), 'w') as f:
        json.dump(cfg, f, indent=2)
    names = sorted(stored)
    if shards == 1:
        write_safetensors(os.path.join(d, 'model.safetensors'), [(n, stored[n]) for n in names])
    else:
        per = math.ceil(len(names) / shards)
        weight_map = {}
        for i in range(shards):
            fname = f'model-{i + 1:05d}-of-{shards:05d}.safetensors'
            part = names[i * per:(i + 1) * per]
            write_safetensors(os.path.join(d, fname), [(n, stored[n]) for n in part])
            weight_map.update({n: fname for n in part})
        total = sum(t.numel() * t.element_size() for t in stored.values())
        with open(os.path.join(d, 'model.safetensors.index.json'), 'w') as f:
            json.dump({'metadata': {'total_size': total}, 'weight_map': weight_map}, f, indent=2)
    if arch == 'llama':
        tok, tcfg = tokenizer_files(LLAMA_TEMPLATE, '<|begin_of_text|>', '<|eot_id|>', '<|eot_id|>')
    else:
        tok, tcfg = tokenizer_files(QWEN_TEMPLATE, None, '<|im_end|>', '<|endoftext|>')
    with open(os.path.join(d, 'tokenizer.json'), 'w') as f:
        json.dump(tok, f, ensure_ascii=False)
    with open(os.path.join(d, 'tokenizer_config.json'), 'w') as f:
        json.dump(tcfg, f, indent=2)

    # Inputs: two full rows, and the same rows with the second left-padded by 2 (key mask, positions from 0).
    B, S = 2, 7
    ids = torch.randint(0, 256, (B, S), generator=gen)
    full_pos = torch.arange(S).expand(B, S).contiguous()
    full_mask = torch.ones(B, S, dtype=torch.long)
    logits = forward(ref_cfg, W, ids, full_pos, full_mask)
    pad_ids = ids.clone()
    pad_ids[1, :2] = 0
    pad_ids[1, 2:] = ids[1, :S - 2]
    pad_mask = torch.ones(B, S, dtype=torch.long)
    pad_mask[1, :2] = 0
    pad_pos = full_pos.clone()
    pad_pos[1] = torch.tensor([0, 0] + list(range(S - 2)))
    pad_logits = forward(ref_cfg, W, pad_ids, pad_pos, pad_mask)

    # LoRA: rank 2, alpha 4, A and B random (B = 0 would make A's gradient 0); mean CE over the labelled targets.
    r, alpha = 2, 4.0
    lora = {}
    for l in range(cfg['num_hidden_layers']):
        for t in LORA_TARGETS:
            prefix = f'model.layers.{l}.{"mlp" if t == "down_proj" else "self_attn"}.{t}'
            w = W[prefix + '.weight']
            A = (torch.randn(w.shape[1], r, generator=gen, dtype=torch.float32) * 0.3).to(torch.float64).requires_grad_()
            Bm = (torch.randn(r, w.shape[0], generator=gen, dtype=torch.float32) * 0.3).to(torch.float64).requires_grad_()
            lora[prefix] = (A, Bm, alpha / r)
    targets = torch.randint(0, VOCAB, (B, S), generator=gen)
    targets[0, :2] = -100
    targets[1, -1] = -100
    lora_logits = forward(ref_cfg, W, ids, full_pos, full_mask, lora)
    loss = torch.nn.functional.cross_entropy(lora_logits.reshape(B * S, -1), targets.reshape(-1), ignore_index=-100)
    loss.backward()

    tensors = [('logits', logits.to(torch.float32)), ('padded_logits', pad_logits.to(torch.float32))]
    for prefix, (A, Bm, _) in lora.items():
        tensors += [(prefix + '.lora_A', A.detach().to(torch.float32)), (prefix + '.lora_B', Bm.detach().to(torch.float32)),
                    (prefix + '.lora_A.grad', A.grad.to(torch.float32)), (prefix + '.lora_B.grad', Bm.grad.to(torch.float32))]
    write_safetensors(os.path.join(d, 'expected.safetensors'), tensors)
    with open(os.path.join(d, 'expected.json'), 'w') as f:
        json.dump({'source': 'scripts/hf-reference/make_fixtures.py (float64 PyTorch reference)', 'torch': torch.__version__,
                   'ids': ids.tolist(), 'padded': {'ids': pad_ids.tolist(), 'positions': pad_pos.tolist(), 'key_mask': pad_mask.tolist()},
                   'lora': {'rank': r, 'alpha': alpha, 'layers': list(lora), 'targets': targets.tolist(), 'loss': loss.item()}}, f, indent=1)
    print(name, 'loss', round(loss.item(), 6), 'max |logit|', round(logits.abs().max().item(), 3))


if __name__ == '__main__':
    for i, fx in enumerate(FIXTURES):
        make(*fx, seed=1000 + i)
