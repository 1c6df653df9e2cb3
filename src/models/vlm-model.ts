/**
 * The built-in vision–language models (vlm.ts presets: ViT encoder, projector, GPT-style decoder) behind the
 * model seam (model.ts), stored as checkpoint.ts writes them (config.json format `clearbench-vlm`), with the
 * chat format of chat.ts and images decoded to CHW in [-1, 1] (data/images.ts).
 */
import { type Graph, type Tensor } from '../engine/graph.ts';
import { type ParamLookup, ParamStore } from '../engine/params.ts';
import { type BatchImage, imagesToTensor } from '../data/images.ts';
import { type TensorCache } from '../data/tensor-cache.ts';
import { type Tokenizer } from './tokenizer/tokenizer.ts';
import { type EncodedSample, type Sample, encodeSample, makeBatch } from './batch.ts';
import { causalLMStep, lmHead } from './causal-lm.ts';
import { CONFIG_FORMAT, loadCheckpoint, saveCheckpoint } from './checkpoint.ts';
import { type PresetName, type VLMConfig, type VLMInputs, declareInputs, initVLM, preset, vlmForward } from './vlm.ts';
import {
  type BatchShape, type DecodeStepInputs, type ForwardOutputs, type ForwardWants, type JsonValue, type KV, type LoadedModel,
  type ModelBatch, type ModelDims, type ModelInputs, type ModelKind,
} from './model.ts';

/** The vision encoder stays frozen unless a run says otherwise, as in CLEAR. */
const FROZEN_BY_DEFAULT = 'vision.';

export class VlmModel implements LoadedModel {
  readonly kind: ModelKind = VLM_KIND;
  readonly dims: ModelDims;

  constructor(readonly params: ParamStore, readonly config: VLMConfig, readonly tokenizer: Tokenizer, readonly preset?: string) {
    const lm = config.lm;
    this.dims = { layers: lm.layers, dModel: lm.dModel, vocabSize: lm.vocabSize, maxSeq: lm.maxSeq };
  }

  encode(sample: Sample): EncodedSample {
    return encodeSample(this.tokenizer, this.config, sample);
  }

  batch(samples: readonly EncodedSample[], opts: { padSide: 'right' | 'left'; padTo?: number }): ModelBatch {
    return makeBatch(this.config, samples, opts);
  }

  async preprocessImages(images: readonly BatchImage[], cache?: TensorCache): Promise<Float32Array[]> {
    const size = this.config.vision.imageSize;
    const all = await imagesToTensor(images, size, { cache });
    const per = 3 * size * size;
    return images.map((_, i) => all.subarray(i * per, (i + 1) * per));
  }

  declareInputs(g: Graph, shape: BatchShape, prefix = ''): ModelInputs {
    return declareInputs(g, this.config, shape, prefix) as unknown as ModelInputs;
  }

  forward(g: Graph, P: ParamLookup, inputs: ModelInputs, wants: ForwardWants = {}): ForwardOutputs {
    return vlmForward(g, P, this.config, inputs as unknown as VLMInputs, { hiddenLayers: wants.hiddenLayers ? [...wants.hiddenLayers] : undefined });
  }

  head(P: ParamLookup, hidden: Tensor): Tensor {
    return lmHead(hidden, P, this.config.lm);
  }

  decodeStep(P: ParamLookup, x: DecodeStepInputs): { logits: Tensor; cache: KV[] } {
    return causalLMStep(P, this.config.lm, x.ids, { positions: x.positions, cache: x.cache, writeAt: x.writeAt, attnMask: x.attnMask });
  }

  kvCacheShape(B: number, Smax: number): number[] {
    const lm = this.config.lm;
    return [B, lm.heads, Smax, lm.dModel / lm.heads];
  }

  defaultTrainable(name: string): boolean {
    return !name.startsWith(FROZEN_BY_DEFAULT);
  }

  withParams(params: ParamStore): VlmModel {
    return new VlmModel(params, this.config, this.tokenizer, this.preset);
  }

  save(dir: string, training?: Record<string, JsonValue>): void {
    saveCheckpoint(dir, { store: this.params, config: this.config, tokenizer: this.tokenizer, preset: this.preset, training });
  }

  describe(): Record<string, JsonValue> {
    return JSON.parse(JSON.stringify(this.config)) as Record<string, JsonValue>;
  }
}

export const VLM_KIND: ModelKind = {
  id: CONFIG_FORMAT,
  load(checkpointDir: string): VlmModel {
    const c = loadCheckpoint(checkpointDir);
    return new VlmModel(c.store, c.config.model, c.tokenizer, c.config.preset);
  },
};

/** A freshly initialised preset for a tokenizer (the base recipe, the benchmarks). */
export function initPresetModel(name: PresetName, tokenizer: Tokenizer, seed: number): VlmModel {
  const config = preset(name, tokenizer.vocabSize);
  const params = new ParamStore();
  initVLM(params, config, seed);
  return new VlmModel(params, config, tokenizer, name);
}
