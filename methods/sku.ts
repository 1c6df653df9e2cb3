/**
 * SKU, Selective Knowledge negation Unlearning (Liu et al. 2024). Stage 1 (the unlearning loop's training)
 * turns a copy θ_h of the model into a deliberately "harmful" one that knows the forget set better:
 *   L = w_gd·CE_f                 guided distortion: learn the forget answers
 *     + w_rd·CE(forget_other)     random disassociation: the forget prompt with another forget person's answer
 *     − w_pd·KL_r(ref‖θ)          preservation divergence: move away from the original on retain (maximised)
 * Stage 2 (`finalize`) negates the task vector: θ_u = θ_o − (θ_h − θ_o) for every trained parameter
 * (docs/SPEC.md §6; the CLEAR reference code skips this stage).
 * Random disassociation pairs each forget prompt with K distinct other forget persons' answers (K rows per
 * forget sample), its CE the mean over all their answer tokens.
 *
 * Defaults from the authors' code (franciscoliu/SKU): K = 5 (harmful_unlearn/unlearn_harm_new.py,
 * get_rand_ans_loss(…, K=5)); w_gd = 2.5, w_rd = 2.5, w_pd = 1, the README's command
 * (--bad_weight 2.5 --random_weight 2.5 --normal_weight 1).
 *
 * Exactness: the negation is written as 2θ_o − θ_h, mathematically equal to θ_o − (θ_h − θ_o). 2θ_o is exact,
 * the float64 subtraction rounds once to 53 bits and the store rounds to float32 (24 bits); because
 * 53 ≥ 2·24 + 2 this double rounding equals a single correct rounding (Figueroa 1995), so every output is the
 * float32 nearest to the exact θ_o − (θ_h − θ_o). Computing θ_h − θ_o in float32 first would round twice.
 *
 * With LoRA the trained parameters are adapters (ΔW = s·A·B, B = 0 at the start); negating ΔW exactly means
 * keeping A and negating B (2·B_o − B_h with B_o = 0), which needs freshly added adapters.
 */
import { defineMethod, losses } from '../src/methods/api.ts';
import { UserError } from '../src/util/errors.ts';

/** 2θ_o − θ_h element by element, rounded once to float32 (see the module comment). */
export function negateTaskVector(start: Float32Array, trained: Float32Array): Float32Array {
  if (start.length !== trained.length) throw new Error(`negateTaskVector: ${start.length} vs ${trained.length} values`);
  const out = new Float32Array(start.length);
  for (let i = 0; i < out.length; i++) out[i] = 2 * start[i] - trained[i];
  return out;
}

export default defineMethod({
  name: 'sku',
  description: 'SKU: train a harmful copy (guided distortion + random disassociation − retain KL), then negate its task vector.',
  hyperparameters: {
    w_gd: { type: 'number', default: 2.5, min: 0, help: 'weight of guided distortion (CE on the forget answers)' },
    w_rd: { type: 'number', default: 2.5, min: 0, help: 'weight of random disassociation (CE on other forget persons\' answers to the same prompt)' },
    w_pd: { type: 'number', default: 1, min: 0, help: 'weight of preservation divergence (KL_r(ref‖θ) on retain, maximised)' },
    k: { type: 'integer', default: 5, min: 1, help: 'K: other forget persons\' answers per forget sample in random disassociation' },
  },
  draws: (h) => ({ forget_other: h.k }),
  streams: ['forget', 'forget_other', 'retain'],
  reference: true,
  loss: ({ h, s }) => {
    const f = s.forget!, o = s.forget_other!, r = s.retain!;
    const gd = losses.tokenCE(f.logits, f.labels);
    const rd = losses.tokenCE(o.logits, o.labels);
    const pd = losses.klDiv(r.ref.logits, r.logits, r.labels);
    return { loss: gd.mul(h.w_gd).add(rd.mul(h.w_rd)).sub(pd.mul(h.w_pd)), metrics: { ce_forget: gd, ce_other: rd, kl_retain: pd } };
  },
  finalize: ({ store, start, trained }) => {
    // ΔW = s·A·B is negated through B alone, so A stays as trained.
    const negated = trained.filter((n) => !n.endsWith('.lora_A'));
    // Check every adapter before changing anything, so an error leaves the trained model whole.
    for (const n of negated) {
      if (n.endsWith('.lora_B') && start.get(n).data.some((x) => x !== 0)) {
        throw new UserError(`sku negates LoRA adapters through B, which must start at 0, but ${n} does not; add fresh adapters (or merge old ones) before unlearning`);
      }
    }
    for (const n of negated) store.get(n).data.set(negateTaskVector(start.get(n).data, store.get(n).data));
  },
});
