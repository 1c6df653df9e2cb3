/**
 * RMU, Representation Misdirection for Unlearning (Li et al. 2024, WMDP). On forget answer tokens the hidden
 * state after decoder layer ℓ is steered towards a fixed random direction scaled by c; on retain answer
 * tokens it is held at the frozen model's (docs/SPEC.md §6):
 *   L = mse_forget(h^ℓ_θ, c·u) + α · mse_retain(h^ℓ_θ, h^ℓ_ref)
 * mse = the mean over the answer tokens and the d coordinates of the squared difference, as WMDP's
 * F.mse_loss (rmu/unlearn.py): forget_dist and retain_dist are per-coordinate, not squared norms.
 *
 * The steering coefficient c (`adaptive`, on by default): c = β·mean‖h^ℓ_ref‖, the mean Euclidean norm of
 * the frozen model's layer-ℓ hidden state over the forget set's answer tokens, measured once before
 * training — adaptive RMU (Dang et al. 2024, "On Effects of Steering Latent Representation for Large
 * Language Model Unlearning"), whose code measures it on the first forget batch and keeps it. A fixed c
 * (the published 6.5) belongs to one model's hidden-state scale: a c below ‖h‖ asks the forget states to
 * shrink towards 0 rather than to point away, and the retain term then wins (measured on the small preset:
 * ‖h‖ ≈ 3 at ℓ = 1, so c = 1.15 never steered).
 *
 * u is drawn once from the method's seeded stream (the same vector every step and every graph; the CLEAR
 * reference code draws a new one per batch and mean-pools, which we do not copy). As in WMDP's code its
 * entries are uniform in [0, 1) before normalisation.
 *
 * The hidden-state mask covers exactly the answer tokens (and the closing eos), the tokens whose positions
 * the labels score one step later — not the positions that predict them, which would add the last prompt
 * position and drop the last answer token (OpenUnlearning's RMU masks the same way: labels ≠ −100 before
 * its shift).
 *
 * Defaults and their sources:
 *   layer −1 (the middle layer floor((L−1)/2)): WMDP steers layer_id 7 of Zephyr-7B's 32 (≈ L/4); for the
 *     4-layer small preset both rules give ℓ = 1.
 *   params down_proj: WMDP trains param_ids [6] of layers 5,6,7 = mlp.down_proj.weight of ℓ−2..ℓ (also
 *     OpenUnlearning's configs/trainer/RMU.yaml, commented regex model\.layers\.(5|6|7)\.mlp\.down_proj\.weight);
 *     here fc2.weight (the built-in models) or down_proj.weight (Hugging Face decoders), the MLP's output projection.
 *   alpha 1200: WMDP's README command for Zephyr-7B (--alpha 1200,1200), also adaptive RMU's default.
 *   beta 5: adaptive RMU's code (--scale, default 5.0).
 *   c 6.5 (used only with adaptive: false): WMDP's README command for Zephyr-7B (--steering_coeffs 6.5,6.5).
 */
import { defineMethod, losses, Tensor, type ModelInfo } from '../src/methods/api.ts';
import { UserError } from '../src/util/errors.ts';

/** ℓ: the given layer, or the middle one, floor((L − 1) / 2), for −1. */
export function rmuLayer(h: { layer: number }, model: ModelInfo): number {
  const l = h.layer < 0 ? Math.floor((model.layers - 1) / 2) : h.layer;
  if (l >= model.layers) throw new UserError(`method 'rmu' hyperparameter 'layer' is ${l}, but the model has ${model.layers} decoder layers; use 0..${model.layers - 1} or −1 (middle)`);
  return l;
}

/** The steering coefficient: β times the measured mean hidden-state norm (adaptive), or c. */
export function rmuCoefficient(h: { adaptive: boolean; beta: number; c: number }, meanNorm: () => number): number {
  return h.adaptive ? h.beta * meanNorm() : h.c;
}

/** The fixed direction u: d entries uniform in [0, 1) from the method's stream, normalised to length 1. */
export function rmuDirection(next: () => number, d: number): Float64Array {
  const u = Float64Array.from({ length: d }, () => next());
  const norm = Math.hypot(...u);
  return u.map((x) => x / norm);
}

/**
 * From the label mask [B, S] (1 where position t predicts an answer token, i.e. token t + 1) to the mask of
 * the positions that hold an answer token: shifted right by one, 0 at t = 0.
 */
export function answerTokenMask(labelMask: Tensor): Tensor {
  const [B, S] = labelMask.shape;
  const first = labelMask.graph.scalar(0, labelMask.dtype).expand([B, 1]);
  if (S === 1) return first;
  return Tensor.concat([first, labelMask.slice([0], [S - 1], [1])], 1);
}

/** A decoder layer's MLP parameter: the built-in VLM's fc1/fc2, or a Hugging Face decoder's (LLaVA's included) gate/up/down_proj. */
const MLP_PARAM = /^(?:lm\.blocks|model\.layers|model\.language_model\.layers)\.(\d+)\.mlp\.(fc1|fc2|gate_proj|up_proj|down_proj)\.(weight|bias)$/;
/** The MLP's output projection. */
const OUT_PROJ = new Set(['fc2', 'down_proj']);

export default defineMethod({
  name: 'rmu',
  description: 'RMU: steer layer-ℓ hidden states of forget answer tokens to c·u (c = β·mean‖h_ref‖ by default), hold retain ones at the frozen model; trains layers ℓ−2..ℓ.',
  hyperparameters: {
    layer: { type: 'integer', default: -1, min: -1, help: 'decoder layer ℓ (0-based) whose output is steered; −1 = the middle layer floor((L−1)/2)' },
    adaptive: { type: 'boolean', default: true, help: 'c = β·(mean norm of the frozen model\'s layer-ℓ hidden state on forget answer tokens) (adaptive RMU); false: c as given' },
    beta: { type: 'number', default: 5, min: 0, help: 'β of adaptive RMU: c in units of the measured hidden-state norm' },
    c: { type: 'number', default: 6.5, min: 0, help: 'steering coefficient c (the norm of c·u) when adaptive is false' },
    alpha: { type: 'number', default: 1200, min: 0, help: 'weight α of the retain term' },
    params: { type: 'enum', default: 'down_proj', values: ['down_proj', 'mlp'], help: 'trained weights of layers ℓ−2..ℓ: the MLP output projection\'s weight (WMDP) or every MLP weight and bias' },
  },
  streams: ['forget', 'retain'],
  reference: true,
  hiddenLayers: (h, model) => [rmuLayer(h, model)],
  measureHiddenNorm: (h, model) => (h.adaptive ? [rmuLayer(h, model)] : []),
  trainable: (param, h, model) => {
    const l = rmuLayer(h, model);
    const m = MLP_PARAM.exec(param);
    if (!m || Number(m[1]) < l - 2 || Number(m[1]) > l) return false;
    return h.params === 'mlp' || (OUT_PROJ.has(m[2]) && m[3] === 'weight');
  },
  loss: ({ h, s, model, constant, rng, hiddenNorm }) => {
    const l = rmuLayer(h, model);
    const d = model.dModel;
    const stream = rng();
    const c = rmuCoefficient(h, () => hiddenNorm(l));
    const target = constant(Float32Array.from(rmuDirection(() => stream.next(), d), (x) => x * c), [d]);
    const f = s.forget!, r = s.retain!;
    const forget = losses.mse(f.hidden(l), target, answerTokenMask(f.mask));
    const retain = losses.mse(r.hidden(l), r.ref.hidden(l), answerTokenMask(r.mask));
    return { loss: forget.add(retain.mul(h.alpha)), metrics: { forget_dist: forget, retain_dist: retain } };
  },
});
