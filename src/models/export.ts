/**
 * Export of a model (model.ts) as a standalone ONNX inference model: the forward graph of one fixed batch shape with
 * the weights stored as initializers, so any ONNX runtime runs it from the data inputs alone.
 */
import { Graph } from '../engine/graph.ts';
import { bindParams } from '../engine/params.ts';
import { serialize } from '../engine/onnx.ts';
import { UserError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { type LoadedModel } from './model.ts';

export interface ExportShape {
  batch: number;
  /** Sequence length (image slots included), at most the model's maxSeq. */
  seq: number;
  /** Include the image inputs (a text-only model otherwise). */
  image: boolean;
}

export interface ExportedTensor {
  name: string;
  shape: number[];
  dtype: string;
}

export interface ExportedModel {
  bytes: Uint8Array;
  inputs: ExportedTensor[];
  outputs: ExportedTensor[];
  /** Parameters stored in the file. */
  params: number;
}

/** What each input means, stored in the model's metadata for whoever runs the file. */
const INPUT_DOC: Record<string, string> = {
  ids: 'int64 [B, S]: token ids; image slots hold the <|image|> id',
  positions: 'int64 [B, S]: position of each token counted from its row\'s first real token (0 on padding)',
  key_mask: 'float [B, S]: 1 on real tokens, 0 on padding',
  images: 'float [B, 3, H, W]: CHW images',
  image_index: 'int64 [B, S]: which image token fills each slot (0 elsewhere)',
  image_slot: 'float [B, S, 1]: 1 on image slots, 0 elsewhere',
};

/** ONNX protobuf messages cannot exceed 2 GiB; weights must fit inline. */
const PROTOBUF_LIMIT = 2 ** 31 - 1;

export function buildExport(model: LoadedModel, shape: ExportShape): ExportedModel {
  const store = model.params;
  const { maxSeq } = model.dims;
  const { batch, seq, image } = shape;
  if (!Number.isInteger(batch) || batch < 1) throw new UserError(`export batch size must be a positive integer, got ${batch}`);
  if (!Number.isInteger(seq) || seq < 1) throw new UserError(`export sequence length must be a positive integer, got ${seq}`);
  if (seq > maxSeq) throw new UserError(`export sequence length ${seq} exceeds the model's ${maxSeq} positions; pass --seq ${maxSeq} or less`);
  const g = new Graph({ portable: true });
  const P = bindParams(g, store);
  const own = model.exportInputs?.(g, { B: batch, S: seq, image });
  const x = own?.inputs ?? model.declareInputs(g, { B: batch, S: seq, image, keyMask: true });
  const { logits } = model.forward(g, P, x);
  const weights = g.params();
  const bytesNeeded = weights.reduce((n, t) => n + 4 * t.size, 0);
  if (bytesNeeded > PROTOBUF_LIMIT) {
    throw new UserError(`the model's ${(bytesNeeded / 2 ** 30).toFixed(1)} GiB of weights exceed the 2 GiB an ONNX file can hold inline; export a smaller model`);
  }
  const onnx = serialize(g, { logits }, {
    embed: store.feeds(),
    metadata: {
      'clearbench.model_config': JSON.stringify(model.describe()),
      'clearbench.inputs': JSON.stringify(own?.doc ?? INPUT_DOC),
      'clearbench.outputs': JSON.stringify({ logits: `float [B, S, V]: next-token logits at every position` }),
    },
  });
  const left = onnx.inputs.filter((t) => store.has(t.name));
  if (left.length) throw new Error(`export left parameters as inputs: ${left.map((t) => t.name).join(', ')}`);
  const info = (name: string, t: { shape: readonly number[]; dtype: string }): ExportedTensor => ({ name, shape: t.shape.slice(), dtype: t.dtype });
  return {
    bytes: onnx.bytes,
    inputs: onnx.inputs.map((t) => info(t.name, t)),
    outputs: Object.entries(onnx.outputs).map(([name, t]) => info(name, t)),
    params: weights.reduce((n, t) => n + t.size, 0),
  };
}

/** Build the inference model and write it to `path` atomically (an existing file is replaced only whole). */
export function exportModel(model: LoadedModel, path: string, shape: ExportShape): ExportedModel {
  const exported = buildExport(model, shape);
  writeFileAtomic(path, exported.bytes);
  return exported;
}
