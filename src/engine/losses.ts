/**
 * Loss building blocks for the unlearning methods (docs/SPEC.md §6), as tensor expressions that the engine
 * differentiates.
 *
 * Conventions: logits [..., V] (float); labels int64 with the logits' shape minus V, IGNORE_LABEL (−100)
 * where a position carries no loss (prompt, image, padding: PyTorch's ignore_index). Labels are ALIGNED
 * with the logits: labels[b, t] is the token that the logits at position t predict. Nothing here shifts;
 * per-token labels as collated (label[t] = id[t]) go through shiftForNextToken first.
 * Labels other than −100 must lie in [0, V) (onnxruntime rejects others at run time).
 */
import { type DType, isFloat } from './dtype.ts';
import { IGNORE_LABEL, Tensor, type TensorLike } from './graph.ts';

function checkLabels(logits: Tensor, labels: Tensor, what: string): void {
  if (!isFloat(logits.dtype)) throw new Error(`${what}: logits must be float, got ${logits.dtype}`);
  if (labels.dtype !== 'int64') throw new Error(`${what}: labels must be int64, got ${labels.dtype}`);
  const lead = logits.shape.slice(0, -1);
  if (labels.rank !== lead.length || labels.shape.some((d, i) => d !== lead[i])) {
    throw new Error(`${what}: labels [${labels.shape}] do not match logits [${logits.shape}] without the vocabulary axis`);
  }
}

/** Labels [B, T] per token (label[t] = id[t]) → next-token labels: out[t] = labels[t + 1], last = −100. */
export function shiftForNextToken(labels: Tensor): Tensor {
  const axis = labels.rank - 1;
  const n = labels.shape[axis];
  const tail = labels.graph.scalar(IGNORE_LABEL, labels.dtype).expand(labels.shape.map((d, i) => (i === axis ? 1 : d)));
  if (n === 1) return tail;
  return Tensor.concat([labels.slice([1], [n], [axis]), tail], axis);
}

/** True where a position is scored (label ≠ −100). */
function scored(labels: Tensor): Tensor {
  return labels.equal(IGNORE_LABEL).not();
}

/** 1 where the label is scored, 0 where it is ignored: float [B, T]. */
export function answerMask(labels: Tensor, dtype: DType = 'float32'): Tensor {
  return scored(labels).cast(dtype);
}

/** One-hot rows of int64 labels: [..., depth], 1 at the label's class; all 0 where the label is outside [0, depth) (−100). */
export function oneHot(labels: Tensor, depth: number, dtype: DType = 'float32'): Tensor {
  if (labels.dtype !== 'int64') throw new Error(`oneHot: labels must be int64, got ${labels.dtype}`);
  if (!Number.isInteger(depth) || depth < 1) throw new Error(`oneHot: depth must be a positive integer, got ${depth}`);
  const classes = labels.graph.constInt64(Array.from({ length: depth }, (_, i) => i));
  return labels.unsqueeze(-1).equal(classes).cast(dtype);
}

/** A count used as a denominator: 1 where it is 0, so a batch without scored tokens gives 0, not NaN. */
function atLeastOne(count: Tensor): Tensor {
  return Tensor.where(count.greater(0), count, 1);
}

/** log p_θ(label) per position [B, T], exactly 0 where the label is ignored. */
export function tokenLogProbs(logits: Tensor, labels: Tensor): Tensor {
  checkLabels(logits, labels, 'tokenLogProbs');
  // Fused: log-softmax and a gather forward, (onehot − softmax)·g backward.
  const V = logits.shape[logits.rank - 1];
  const rows = labels.size;
  return logits.reshape([rows, V]).labelLogProbs(labels.reshape([rows]), IGNORE_LABEL).reshape(labels.shape.slice());
}

/** Axes of a [B, ...] tensor after the batch axis. */
const afterBatch = (t: Tensor): number[] => t.shape.map((_, i) => i).slice(1);

/**
 * Mean cross-entropy over the scored tokens of the whole batch (scalar): PyTorch's
 * cross_entropy(ignore_index=−100, reduction='mean'), except that a batch with no scored token gives 0.
 */
export function tokenCE(logits: Tensor, labels: Tensor): Tensor {
  const lp = tokenLogProbs(logits, labels);
  return lp.sum().neg().div(atLeastOne(answerMask(labels, logits.dtype).sum()));
}

/** Mean cross-entropy over each sample's scored tokens: [B] (L̄ of docs/SPEC.md §5; 0 for a sample without any). */
export function tokenCEPerSample(logits: Tensor, labels: Tensor): Tensor {
  if (labels.rank < 2) throw new Error(`tokenCEPerSample: labels need a batch axis, got [${labels.shape}]`);
  const lp = tokenLogProbs(logits, labels);
  return lp.sum(afterBatch(lp)).neg().div(atLeastOne(answerMask(labels, logits.dtype).sum(afterBatch(labels))));
}

/** S_θ(x, y) = Σ_t log p_θ(y_t | x, y<t) over each sample's scored tokens: [B]. */
export function seqLogProb(logits: Tensor, labels: Tensor): Tensor {
  if (labels.rank < 2) throw new Error(`seqLogProb: labels need a batch axis, got [${labels.shape}]`);
  const lp = tokenLogProbs(logits, labels);
  return lp.sum(afterBatch(lp));
}

export interface KLOptions {
  /** Softmax temperature applied to both distributions; the result is multiplied by T² (default 1). */
  temperature?: number;
}

/**
 * KL(ref ‖ θ) = Σ_v p_ref(v) (log p_ref(v) − log p_θ(v)), averaged over the scored tokens (scalar).
 * With temperature T both distributions are softmax(z / T) and the mean is multiplied by T² (the
 * distillation convention SCRUB uses, so gradient magnitudes do not shrink as 1/T²). The reference
 * logits are detached: no gradient flows into the reference.
 */
export function klDiv(refLogits: Tensor, logits: Tensor, labels: Tensor, opts: KLOptions = {}): Tensor {
  const temp = opts.temperature ?? 1;
  if (!(temp > 0) || !Number.isFinite(temp)) throw new Error(`klDiv: temperature must be a positive number, got ${temp}`);
  checkLabels(logits, labels, 'klDiv');
  if (refLogits.dtype !== logits.dtype || refLogits.rank !== logits.rank || refLogits.shape.some((d, i) => d !== logits.shape[i])) {
    throw new Error(`klDiv: reference logits ${refLogits} and logits ${logits} differ in shape or dtype`);
  }
  const soften = (z: Tensor): Tensor => (temp === 1 ? z : z.div(temp));
  const logRef = soften(refLogits.detach()).logSoftmax(-1);
  const logQ = soften(logits).logSoftmax(-1);
  const perToken = logRef.exp().mul(logRef.sub(logQ)).sum(-1);
  const total = Tensor.where(scored(labels), perToken, 0).sum();
  const mean = total.div(atLeastOne(answerMask(labels, logits.dtype).sum()));
  return temp === 1 ? mean : mean.mul(temp * temp);
}

/** log σ(x), computed stably as −softplus(−x). */
export function logSigmoid(x: Tensor): Tensor {
  return x.logSigmoid();
}

/**
 * Mean squared error (PyTorch mse_loss, reduction 'mean') of a − b, b broadcasting to a. With a mask
 * (weights, normally 0/1) over the leading axes of a, e.g. [B, T] for hidden states [B, T, D]: the mean
 * over the masked positions of every element there, Σ m·(a − b)² / (Σ m · D); 0 if the mask is all 0.
 */
export function mse(a: Tensor, b: TensorLike, mask?: Tensor): Tensor {
  const d = a.sub(b);
  const sq = d.mul(d);
  if (!mask) return sq.mean();
  if (mask.dtype !== sq.dtype) throw new Error(`mse: mask must be ${sq.dtype}, got ${mask.dtype}`);
  if (mask.rank > sq.rank || mask.shape.some((n, i) => n !== sq.shape[i])) {
    throw new Error(`mse: mask [${mask.shape}] must cover the leading axes of [${sq.shape}]`);
  }
  const perPosition = sq.rank === mask.rank ? sq : sq.sum(sq.shape.map((_, i) => i).slice(mask.rank));
  const inner = sq.size / mask.size;
  return perPosition.mul(mask).sum().div(atLeastOne(mask.sum().mul(inner)));
}
