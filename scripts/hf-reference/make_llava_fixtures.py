#!/usr/bin/env python3
"""Tiny random LlavaForConditionalGeneration checkpoints in the Hugging Face hub layout, with reference logits
and LoRA gradients, for test/models/hf/llava-parity.test.ts; and CLIPImageProcessor reference values on small
fixed images.

The reference is written here from the published semantics of transformers' modeling_llava.py,
modeling_clip.py, processing_llava.py and image_processing_clip.py (transformers itself is not used):
CLIP vision tower = patch Conv2d without bias, class embedding prepended, position embeddings, pre_layrnorm,
pre-LN encoder layers (q/k/v/out_proj with biases, softmax(q k^T / sqrt(dh)), fc1 -> hidden_act -> fc2);
hidden_states[k] is the stream after k layers (0 = after pre_layrnorm); vision_feature_layer picks one
(negative from the end), 'default' drops the class token, 'full' keeps it; projector linear_2(act(linear_1(x)));
the features replace the embeddings of the image tokens in order (masked_scatter); the Llama decoder of
make_fixtures.py runs on the result. Float64 from the stored (possibly BF16-rounded) weights; LoRA as PEFT.

Run with Debian's python3-torch (1.13):  /usr/bin/python3 scripts/hf-reference/make_llava_fixtures.py
It rewrites test/fixtures/hf/llava-*/ and test/fixtures/hf/clip-preprocessor/.
"""
import json
import math
import os
import shutil
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402

OUT = mf.OUT
SPECIALS = ['<s>', '</s>', '<image>', '<pad>']
IMAGE_TOKEN = 258  # 256 + SPECIALS.index('<image>')
VOCAB = 264
# llava-1.5's processor chat template (typed content, images first, a space after each text).
LLAVA_TEMPLATE = ("{% for message in messages %}{% if message['role'] != 'system' %}{{ message['role'].upper() + ': '}}{% endif %}"
                  "{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>\n' }}{% endfor %}"
                  "{% if message['role'] != 'assistant' %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
                  "{{ content['text'] + ' '}}{% endfor %}{% else %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
                  "{% generation %}{{ content['text'] + ' '}}{% endgeneration %}{% endfor %}{% endif %}{% endfor %}"
                  "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}")
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def act(x, name):
    if name == 'quick_gelu':
        return x * torch.sigmoid(1.702 * x)
    if name == 'gelu':
        return F.gelu(x)
    if name == 'gelu_pytorch_tanh':
        return F.gelu(x, approximate='tanh')
    raise ValueError(name)


def lin(x, W, prefix, lora, bias=True):
    y = x @ W[prefix + '.weight'].T
    if bias:
        y = y + W[prefix + '.bias']
    if lora and prefix in lora:
        A, Bm, scale = lora[prefix]
        y = y + (x @ A) @ Bm * scale
    return y


def clip_hidden_states(v, W, pixels, lora):
    """hidden_states of CLIPVisionTransformer: W under current names (model.vision_tower.vision_model.…)."""
    P = 'model.vision_tower.vision_model'
    B = pixels.shape[0]
    D, H = v['hidden_size'], v['num_attention_heads']
    dh = D // H
    eps = v.get('layer_norm_eps', 1e-5)
    x = F.conv2d(pixels, W[P + '.embeddings.patch_embedding.weight'], stride=v['patch_size']).flatten(2).transpose(1, 2)
    cls = W[P + '.embeddings.class_embedding'].expand(B, 1, D)
    x = torch.cat([cls, x], 1) + W[P + '.embeddings.position_embedding.weight'][None]
    ln = lambda t, p: F.layer_norm(t, (D,), W[p + '.weight'], W[p + '.bias'], eps)
    x = ln(x, P + '.pre_layrnorm')
    hs = [x]
    T = x.shape[1]
    for l in range(v['num_hidden_layers']):
        p = f'{P}.encoder.layers.{l}'
        a = ln(x, p + '.layer_norm1')
        heads = lambda n: lin(a, W, f'{p}.self_attn.{n}', lora).view(B, T, H, dh).transpose(1, 2)
        scores = heads('q_proj') @ heads('k_proj').transpose(-1, -2) / math.sqrt(dh)
        ctx = (scores.softmax(-1) @ heads('v_proj')).transpose(1, 2).reshape(B, T, D)
        x = x + lin(ctx, W, p + '.self_attn.out_proj', lora)
        m = ln(x, p + '.layer_norm2')
        x = x + lin(act(lin(m, W, p + '.mlp.fc1', lora), v['hidden_act']), W, p + '.mlp.fc2', lora)
        hs.append(x)
    return hs


def llava_forward(cfg, W, ids, pixels, lora=None):
    """Logits [B, S, V]; W under current names; the decoder is make_fixtures.forward on the merged embeddings."""
    v, t = cfg['vision_config'], cfg['text_config']
    hs = clip_hidden_states(v, W, pixels, lora)
    feats = hs[cfg['vision_feature_layer']]
    if cfg['vision_feature_select_strategy'] == 'default':
        feats = feats[:, 1:]
    pr = 'model.multi_modal_projector'
    feats = lin(act(lin(feats, W, pr + '.linear_1', lora), cfg['projector_hidden_act']), W, pr + '.linear_2', lora)
    # The decoder's names as make_fixtures.forward reads them (model.layers…, lm_head).
    text = {('model.' + k[len('model.language_model.'):] if k.startswith('model.language_model.') else k): w for k, w in W.items()}
    text_lora = {('model.' + k[len('model.language_model.'):]): x for k, x in (lora or {}).items() if k.startswith('model.language_model.')}
    emb = text['model.embed_tokens.weight'][ids]
    mask = (ids == IMAGE_TOKEN)
    emb = emb.masked_scatter(mask[..., None].expand_as(emb), feats.reshape(-1, feats.shape[-1]).to(emb.dtype))
    B, S = ids.shape
    tcfg = {**t, 'head_dim': t['hidden_size'] // t['num_attention_heads'], 'tie_word_embeddings': tied(cfg)}
    return mf.forward(tcfg, text, ids, torch.arange(S).expand(B, S), torch.ones(B, S, dtype=torch.long), text_lora, embeds=emb)


def tied(cfg):
    return cfg['text_config'].get('tie_word_embeddings', cfg.get('tie_word_embeddings', False))


def random_weights(cfg, gen):
    """Current-layout names → float32 tensors (hub shapes: [out, in] linears, [D, 3, p, p] patch conv)."""
    v, t = cfg['vision_config'], cfg['text_config']
    n = lambda *shape, std=1.0: torch.randn(*shape, generator=gen, dtype=torch.float32) * std
    D, I, p = v['hidden_size'], v['intermediate_size'], v['patch_size']
    P = 'model.vision_tower.vision_model'
    W = {P + '.embeddings.patch_embedding.weight': n(D, 3, p, p, std=(3 * p * p) ** -0.5),
         P + '.embeddings.class_embedding': n(D),
         P + '.embeddings.position_embedding.weight': n((v['image_size'] // p) ** 2 + 1, D, std=0.5)}
    for name in ('pre_layrnorm', 'post_layernorm'):
        W[f'{P}.{name}.weight'] = 1 + n(D, std=0.1)
        W[f'{P}.{name}.bias'] = n(D, std=0.1)
    for l in range(v['num_hidden_layers']):
        q = f'{P}.encoder.layers.{l}'
        for name in ('layer_norm1', 'layer_norm2'):
            W[f'{q}.{name}.weight'] = 1 + n(D, std=0.1)
            W[f'{q}.{name}.bias'] = n(D, std=0.1)
        for name in ('q_proj', 'k_proj', 'v_proj', 'out_proj'):
            W[f'{q}.self_attn.{name}.weight'] = n(D, D, std=D ** -0.5)
            W[f'{q}.self_attn.{name}.bias'] = n(D, std=0.1)
        W[q + '.mlp.fc1.weight'] = n(I, D, std=D ** -0.5)
        W[q + '.mlp.fc1.bias'] = n(I, std=0.1)
        W[q + '.mlp.fc2.weight'] = n(D, I, std=I ** -0.5)
        W[q + '.mlp.fc2.bias'] = n(D, std=0.1)
    Dt = t['hidden_size']
    pr = 'model.multi_modal_projector'
    W[pr + '.linear_1.weight'] = n(Dt, D, std=D ** -0.5)
    W[pr + '.linear_1.bias'] = n(Dt, std=0.1)
    W[pr + '.linear_2.weight'] = n(Dt, Dt, std=Dt ** -0.5)
    W[pr + '.linear_2.bias'] = n(Dt, std=0.1)
    tcfg = {**t, 'head_dim': Dt // t['num_attention_heads'], 'tie_word_embeddings': tied(cfg)}
    for k, w in mf.random_weights(tcfg, gen).items():
        W['model.language_model.' + k[len('model.'):] if k.startswith('model.') else k] = w
    return W


def hub_name(name, layout):
    """A current-layout name in the legacy layout when asked."""
    if layout == 'current':
        return name
    for frm, to in (('model.language_model.', 'language_model.model.'), ('lm_head.', 'language_model.lm_head.'),
                    ('model.vision_tower.', 'vision_tower.'), ('model.multi_modal_projector.', 'multi_modal_projector.')):
        if name.startswith(frm):
            return to + name[len(frm):]
    raise ValueError(name)


FIXTURES = [
    # name, layout, dtype, shards, config overrides
    ('llava-legacy-f32', 'legacy', torch.float32, 1,
     dict(vision_feature_layer=-2, vision_feature_select_strategy='default', projector_hidden_act='gelu', tie_word_embeddings=False),
     dict(hidden_act='quick_gelu'), dict(num_key_value_heads=2)),
    ('llava-current-bf16-sharded', 'current', torch.bfloat16, 2,
     dict(vision_feature_layer=-1, vision_feature_select_strategy='full', projector_hidden_act='gelu', image_seq_length=5),
     dict(hidden_act='gelu'), dict(num_key_value_heads=4, tie_word_embeddings=True)),
]


def make(name, layout, dtype, shards, top, vis, txt, seed):
    gen = torch.Generator().manual_seed(seed)
    dname = {torch.float32: 'float32', torch.bfloat16: 'bfloat16'}[dtype]
    vision = dict(model_type='clip_vision_model', hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
                  image_size=28, patch_size=14, projection_dim=16, layer_norm_eps=1e-5, **vis)
    text = dict(architectures=['LlamaForCausalLM'], model_type='llama', vocab_size=VOCAB, hidden_size=32, intermediate_size=48,
                num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=64, rms_norm_eps=1e-5, rope_theta=10000.0,
                torch_dtype=dname, **txt)
    cfg = dict(architectures=['LlavaForConditionalGeneration'], model_type='llava', image_token_index=IMAGE_TOKEN, ignore_index=-100,
               pad_token_id=259, text_config=text, vision_config=vision, torch_dtype=dname, transformers_version='4.52.0' if layout == 'current' else '4.45.0')
    cfg.update(top)
    stored = {k: w.to(dtype) for k, w in random_weights(cfg, gen).items()}
    W = {k: w.to(torch.float64) for k, w in stored.items()}

    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    with open(os.path.join(d, 'config.json'), 'w') as f:
        json.dump(cfg, f, indent=2)
    hub = {hub_name(k, layout): w for k, w in stored.items()}
    names = sorted(hub)
    if shards == 1:
        mf.write_safetensors(os.path.join(d, 'model.safetensors'), [(k, hub[k]) for k in names])
    else:
        per = math.ceil(len(names) / shards)
        weight_map = {}
        for i in range(shards):
            fname = f'model-{i + 1:05d}-of-{shards:05d}.safetensors'
            part = names[i * per:(i + 1) * per]
            mf.write_safetensors(os.path.join(d, fname), [(k, hub[k]) for k in part])
            weight_map.update({k: fname for k in part})
        total = sum(t.numel() * t.element_size() for t in hub.values())
        with open(os.path.join(d, 'model.safetensors.index.json'), 'w') as f:
            json.dump({'metadata': {'total_size': total}, 'weight_map': weight_map}, f, indent=2)
    mf.SPECIALS = SPECIALS
    tok, tcfg = mf.tokenizer_files(None, '<s>', '</s>', '<pad>')
    del tcfg['chat_template']
    with open(os.path.join(d, 'tokenizer.json'), 'w') as f:
        json.dump(tok, f, ensure_ascii=False)
    with open(os.path.join(d, 'tokenizer_config.json'), 'w') as f:
        json.dump(tcfg, f, indent=2)
    # As llava-hf repos keep it: the processor's template and settings in their own files.
    with open(os.path.join(d, 'chat_template.json'), 'w') as f:
        json.dump({'chat_template': LLAVA_TEMPLATE}, f, indent=2)
    with open(os.path.join(d, 'preprocessor_config.json'), 'w') as f:
        json.dump(preprocessor_config(28), f, indent=2)

    # Two rows with their image tokens at different places; random pixel values (the preprocessor is tested apart).
    n_img = (28 // 14) ** 2 + (0 if cfg['vision_feature_select_strategy'] == 'default' else 1)
    S = n_img + 8
    rows = []
    for at in (1, 4):
        row = torch.randint(0, 256, (S,), generator=gen)
        row[0] = 256
        row[at:at + n_img] = IMAGE_TOKEN
        rows.append(row)
    ids = torch.stack(rows)
    B = 2
    pixels = torch.randn(B, 3, 28, 28, generator=gen, dtype=torch.float32)
    logits = llava_forward(cfg, W, ids, pixels.to(torch.float64))

    # LoRA on the decoder, the projector and the vision tower's first q_proj (gradients through every part).
    r, alpha = 2, 4.0
    targets_l = ([f'model.language_model.layers.{l}.self_attn.{t}' for l in range(2) for t in ('q_proj', 'v_proj')]
                 + [f'model.language_model.layers.{l}.mlp.down_proj' for l in range(2)]
                 + ['model.multi_modal_projector.linear_1', 'model.vision_tower.vision_model.encoder.layers.0.self_attn.q_proj'])
    lora = {}
    for prefix in targets_l:
        w = W[prefix + '.weight']
        A = (torch.randn(w.shape[1], r, generator=gen, dtype=torch.float32) * 0.3).to(torch.float64).requires_grad_()
        Bm = (torch.randn(r, w.shape[0], generator=gen, dtype=torch.float32) * 0.3).to(torch.float64).requires_grad_()
        lora[prefix] = (A, Bm, alpha / r)
    targets = torch.randint(0, VOCAB, (B, S), generator=gen)
    targets[ids == IMAGE_TOKEN] = -100
    targets[0, :1] = -100
    lora_logits = llava_forward(cfg, W, ids, pixels.to(torch.float64), lora)
    loss = F.cross_entropy(lora_logits.reshape(B * S, -1), targets.reshape(-1), ignore_index=-100)
    loss.backward()

    tensors = [('logits', logits.to(torch.float32)), ('pixel_values', pixels)]
    for prefix, (A, Bm, _) in lora.items():
        tensors += [(prefix + '.lora_A', A.detach().to(torch.float32)), (prefix + '.lora_B', Bm.detach().to(torch.float32)),
                    (prefix + '.lora_A.grad', A.grad.to(torch.float32)), (prefix + '.lora_B.grad', Bm.grad.to(torch.float32))]
    mf.write_safetensors(os.path.join(d, 'expected.safetensors'), tensors)
    with open(os.path.join(d, 'expected.json'), 'w') as f:
        json.dump({'source': 'scripts/hf-reference/make_llava_fixtures.py (float64 PyTorch reference)', 'torch': torch.__version__,
                   'ids': ids.tolist(), 'image_tokens': n_img, 'layout': layout,
                   'lora': {'rank': r, 'alpha': alpha, 'layers': targets_l, 'targets': targets.tolist(), 'loss': loss.item()}}, f, indent=1)
    print(name, 'loss', round(loss.item(), 6), 'max |logit|', round(logits.abs().max().item(), 3))


def preprocessor_config(size):
    return {'crop_size': {'height': size, 'width': size}, 'do_center_crop': True, 'do_convert_rgb': True, 'do_normalize': True,
            'do_rescale': True, 'do_resize': True, 'image_mean': CLIP_MEAN, 'image_processor_type': 'CLIPImageProcessor',
            'image_std': CLIP_STD, 'processor_class': 'LlavaProcessor', 'resample': 3, 'rescale_factor': 0.00392156862745098,
            'size': {'shortest_edge': size}}


def clip_preprocess(img, cfg):
    """CLIPImageProcessor: RGB, PIL bicubic resize of the shortest edge, centre crop, rescale, normalise (float32), CHW."""
    img = img.convert('RGB')
    w, h = img.size
    s = cfg['size']['shortest_edge']
    short, long = min(w, h), max(w, h)
    new_long = int(s * long / short)
    size = (s, new_long) if w <= h else (new_long, s)
    img = img.resize(size, resample=Image.BICUBIC)
    a = np.asarray(img)
    ch, cw = cfg['crop_size']['height'], cfg['crop_size']['width']
    top, left = (a.shape[0] - ch) // 2, (a.shape[1] - cw) // 2
    a = a[top:top + ch, left:left + cw]
    a = (a.astype(np.float64) * cfg['rescale_factor']).astype(np.float32)
    a = (a - np.array(cfg['image_mean'], dtype=np.float32)) / np.array(cfg['image_std'], dtype=np.float32)
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))


def make_preprocessor_fixture():
    d = os.path.join(OUT, 'clip-preprocessor')
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    cfg = preprocessor_config(28)
    with open(os.path.join(d, 'preprocessor_config.json'), 'w') as f:
        json.dump(cfg, f, indent=2)
    rng = np.random.default_rng(7)
    cases = {
        # Shortest edge already 28: no resampling, so the values must agree exactly (crop, rescale, normalise).
        'exact-28x35.png': (28, 35),
        # Resized from 30 to 28 (the long edge to int(28·40/30) = 37), then cropped: sharp's and PIL's bicubic differ slightly.
        'resize-40x30.png': (40, 30),
    }
    tensors = []
    for fname, (w, h) in cases.items():
        yy, xx = np.mgrid[0:h, 0:w]
        smooth = np.stack([255 * xx / (w - 1), 255 * yy / (h - 1), 127 + 100 * np.sin(xx / 3.0) * np.cos(yy / 4.0)], -1)
        a = np.clip(smooth + rng.normal(0, 12, smooth.shape), 0, 255).astype(np.uint8)
        Image.fromarray(a, 'RGB').save(os.path.join(d, fname))
        tensors.append((fname, clip_preprocess(Image.open(os.path.join(d, fname)), cfg)))
    mf.write_safetensors(os.path.join(d, 'expected.safetensors'), tensors)
    print('clip-preprocessor', [n for n, _ in tensors])


if __name__ == '__main__':
    for i, fx in enumerate(FIXTURES):
        make(*fx, seed=2000 + i)
    make_preprocessor_fixture()
