/**
 * LoRA adapters (Hu et al. 2021, as in Hugging Face PEFT): a linear layer y = x·W + b with W [in, out] gains
 * y += scale · (x·A)·B, with A [in, r], B [r, out] trainable and scale = alpha / r, while every other
 * parameter is frozen. transformer.ts's linear() adds the term whenever `<prefix>.lora_A` exists, so the
 * adapters work in every graph (training, scoring, generation, export) without other changes.
 *
 * Our weights are stored [in, out] (x·W), the transpose of torch's [out, in]: PEFT's A [r, in], B [out, r]
 * and ΔW = scale·B·A become A [in, r], B [r, out] and ΔW = scale·A·B here.
 *
 * Target patterns select linear layers by prefix (the name without `.weight`), matched against the whole
 * prefix: `*` stands for any characters within one dot-separated part, `**` for any characters across parts,
 * everything else is literal. Examples: `lm.blocks.*.attn.qkv`, `lm.blocks.*.mlp.*`, `lm.**`, `**.fc1`.
 * Linear layers are the prefixes with a 2-D `.weight` [in, out] and a `.bias` [out] (what initLinear makes and
 * linear() computes); the LM head (`lm.head`, no bias, applied outside linear()) cannot take an adapter.
 */
import { type Tensor } from '../engine/graph.ts';
import { ParamStore, type ParamLookup } from '../engine/params.ts';
import { UserError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';

export interface LoraConfig {
  rank: number;
  alpha: number;
  /** Patterns over linear-layer prefixes (syntax above); each must match at least one layer. */
  targets: readonly string[];
}

const SUFFIXES = ['lora_A', 'lora_B', 'lora_scale'] as const;
export const loraNames = (prefix: string) => ({ A: `${prefix}.lora_A`, B: `${prefix}.lora_B`, scale: `${prefix}.lora_scale` });

/** Whether a parameter name belongs to an adapter. */
export function isLoraParam(name: string): boolean {
  return SUFFIXES.some((s) => name.endsWith(`.${s}`));
}

/** Prefixes of the store's linear layers (2-D `.weight` [in, out] with a `.bias` [out]), in store order. */
export function linearPrefixes(store: ParamStore): string[] {
  const out: string[] = [];
  for (const e of store.entries()) {
    if (!e.name.endsWith('.weight') || e.shape.length !== 2) continue;
    const prefix = e.name.slice(0, -'.weight'.length);
    const bias = store.has(`${prefix}.bias`) ? store.get(`${prefix}.bias`) : null;
    if (bias && bias.shape.length === 1 && bias.shape[0] === e.shape[1]) out.push(prefix);
  }
  return out;
}

/** The regular expression of a target pattern (syntax in the module comment). */
export function targetPattern(pattern: string): RegExp {
  if (pattern.length === 0) throw new UserError('empty LoRA target pattern; give layer prefixes such as lm.blocks.*.attn.qkv');
  const parts = pattern.split(/(\*\*|\*)/).map((p) => (p === '**' ? '.*' : p === '*' ? '[^.]*' : p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')));
  return new RegExp(`^${parts.join('')}$`);
}

/**
 * The linear layers the patterns select, in store order.
 * @throws UserError naming a pattern that selects nothing.
 */
export function matchTargets(store: ParamStore, patterns: readonly string[], layers: readonly string[] = linearPrefixes(store)): string[] {
  const chosen = new Set<string>();
  for (const p of patterns) {
    const re = targetPattern(p);
    const hits = layers.filter((l) => re.test(l));
    if (hits.length === 0) {
      const hint = p.endsWith('.weight') ? ' (patterns name layers, without ".weight")' : '';
      throw new UserError(`LoRA target '${p}' matches no linear layer${hint}; layers look like ${layers.slice(0, 3).join(', ')} (* = one name part, ** = any)`);
    }
    for (const h of hits) chosen.add(h);
  }
  return layers.filter((l) => chosen.has(l));
}

/**
 * PEFT's default A: torch.nn.init.kaiming_uniform_(A, a=√5) on the torch layout [r, in], so fan_in = in,
 * gain = √(2/(1+a²)) = √(1/3), bound = √3·gain/√fan_in = 1/√in. Drawn in torch's element order, stored [in, r].
 */
function kaimingUniformA(rng: Rng, din: number, r: number): Float32Array {
  const gain = Math.sqrt(2 / (1 + 5));
  const bound = (Math.sqrt(3) * gain) / Math.sqrt(din);
  const a = new Float32Array(din * r);
  for (let k = 0; k < r; k++) for (let i = 0; i < din; i++) a[i * r + k] = (2 * rng.next() - 1) * bound;
  return a;
}

/**
 * Add adapters to the layers the targets select and freeze every other parameter (call before
 * Trainer.create, which fixes the trainable set). `layers` are the linear layers a model kind names
 * (LoadedModel.linearLayers, e.g. bias-free projections); by default those linearPrefixes finds. Returns
 * the adapted layer prefixes.
 * @throws UserError for a bad rank/alpha or a target that selects nothing.
 */
export function addLora(store: ParamStore, cfg: LoraConfig, seed: number, layers?: readonly string[]): string[] {
  if (!Number.isInteger(cfg.rank) || cfg.rank < 1) throw new UserError(`LoRA rank must be a positive integer, got ${cfg.rank}`);
  if (!Number.isFinite(cfg.alpha) || cfg.alpha <= 0) throw new UserError(`LoRA alpha must be a positive number, got ${cfg.alpha}`);
  if (!cfg.targets.length) throw new UserError('LoRA needs at least one target pattern (e.g. lm.blocks.*.attn.qkv)');
  if (hasLora(store)) throw new Error('the model already has LoRA adapters; merge them (mergeLora) before adding new ones');
  const targets = matchTargets(store, cfg.targets, layers);
  store.setTrainable(() => true, false);
  const r = cfg.rank;
  for (const prefix of targets) {
    const [din, dout] = store.get(`${prefix}.weight`).shape;
    const n = loraNames(prefix);
    // One stream per layer: a layer's adapter does not depend on which other layers were chosen.
    store.add(n.A, [din, r], kaimingUniformA(Rng.derive(seed, `lora:${prefix}`), din, r), true);
    store.add(n.B, [r, dout], new Float32Array(r * dout), true);
    store.add(n.scale, [], Float32Array.of(cfg.alpha / r), false);
  }
  return targets;
}

export function hasLora(store: ParamStore): boolean {
  return store.names().some(isLoraParam);
}

/** Prefixes of the layers that carry an adapter, in store order. */
export function loraPrefixes(store: ParamStore): string[] {
  return store.names().filter((n) => n.endsWith('.lora_A')).map((n) => n.slice(0, -'.lora_A'.length));
}

/** ΔW = scale·A·B [in, out], accumulated in float64. */
function deltaF64(store: ParamStore, prefix: string): Float64Array {
  const n = loraNames(prefix);
  const A = store.get(n.A);
  const B = store.get(n.B);
  const [din, r] = A.shape;
  const dout = B.shape[1];
  const a = A.data;
  const b = B.data;
  const scale = store.get(n.scale).data[0];
  const d = new Float64Array(din * dout);
  for (let i = 0; i < din; i++) {
    const row = i * dout;
    for (let k = 0; k < r; k++) {
      const aik = a[i * r + k];
      const bk = k * dout;
      for (let j = 0; j < dout; j++) d[row + j] += aik * b[bk + j];
    }
  }
  for (let i = 0; i < d.length; i++) d[i] *= scale;
  return d;
}

/** The adapter's weight change ΔW = scale·A·B [in, out] (PEFT's scale·B·A in torch layout). */
export function loraDelta(store: ParamStore, prefix: string): Float32Array {
  return Float32Array.from(deltaF64(store, prefix));
}

/** ΔW as a graph expression [in, out], e.g. for the L1 regulariser λ·Σ|ΔW| inside a loss. */
export function loraDeltaExpr(P: ParamLookup, prefix: string): Tensor {
  const n = loraNames(prefix);
  return P(n.A).matmul(P(n.B)).mul(P(n.scale));
}

/**
 * A copy of the model with every adapter folded in, W ← float32(W + scale·A·B) (float64 arithmetic), and no
 * adapter entries; every parameter of the copy is trainable, as in a freshly loaded checkpoint. The input
 * store is left as it is, so a run can save a merged checkpoint and keep training its adapters.
 */
export function mergeLora(store: ParamStore): ParamStore {
  const merged = new ParamStore();
  const adapted = new Set(loraPrefixes(store).map((p) => `${p}.weight`));
  for (const e of store.entries()) {
    if (isLoraParam(e.name)) continue;
    let data = e.data.slice();
    if (adapted.has(e.name)) {
      const d = deltaF64(store, e.name.slice(0, -'.weight'.length));
      const w = e.data;
      data = new Float32Array(w.length);
      for (let i = 0; i < w.length; i++) data[i] = w[i] + d[i];
    }
    merged.add(e.name, e.shape, data, true);
  }
  return merged;
}
