/**
 * Serialise a Graph to an ONNX ModelProto (opset 18, IR 8), keeping only the nodes, inputs and
 * initializers that the requested outputs depend on.
 */
import onnxProto from 'onnx-proto';
import { type Graph, type Tensor, type Attr } from './graph.ts';
import { ONNX_DTYPE, type TypedArray, allocTyped, byteView } from './dtype.ts';

const { onnx } = onnxProto;
const OPSET = 18;
const IR_VERSION = 8;

/** Ops the builder records that ONNX spells differently. */
const ONNX_OP: Record<string, string> = { StopGradient: 'Identity', CustomGrad: 'Identity' };
/** onnxruntime contrib ops the graphs may use, and their domain. */
const CONTRIB_DOMAIN: Record<string, string> = { FusedMatMul: 'com.microsoft' };

function attrProto(name: string, a: Attr): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.kind) {
    case 'int': return { name, type: T.INT, i: a.v };
    case 'float': return { name, type: T.FLOAT, f: a.v };
    case 'ints': return { name, type: T.INTS, ints: a.v.slice() };
    case 'floats': return { name, type: T.FLOATS, floats: a.v.slice() };
    case 'string': return { name, type: T.STRING, s: new TextEncoder().encode(a.v) };
  }
}

function valueInfo(t: Tensor): onnxProto.onnx.IValueInfoProto {
  return {
    name: t.name,
    type: { tensorType: { elemType: ONNX_DTYPE[t.dtype], shape: { dim: t.shape.map((d) => ({ dimValue: d })) } } },
  };
}

export interface SerializedModel {
  bytes: Uint8Array;
  /** Graph inputs the model still needs after pruning, in declaration order. */
  inputs: Tensor[];
  outputs: Record<string, Tensor>;
}

export interface SerializeOptions {
  /**
   * Values for graph parameters (name → data, e.g. ParamStore.feeds()): those the model uses become
   * initializers instead of inputs, giving a standalone model (export). Others stay inputs.
   */
  embed?: Readonly<Record<string, TypedArray>>;
  /** Key/value strings stored as the model's metadata_props. */
  metadata?: Readonly<Record<string, string>>;
}

/** Build ModelProto bytes whose outputs are `outputs` (output name → tensor). */
export function serialize(graph: Graph, outputs: Record<string, Tensor>, opts: SerializeOptions = {}): SerializedModel {
  // Walk back from the outputs to find the live nodes.
  const live = new Set<number>();
  const liveTensors = new Set<string>();
  const stack = Object.values(outputs).slice();
  while (stack.length) {
    const t = stack.pop()!;
    if (liveTensors.has(t.name)) continue;
    liveTensors.add(t.name);
    const p = t.producer;
    if (p && !live.has(p.id)) {
      live.add(p.id);
      for (const x of p.op === 'CustomGrad' ? p.inputs.slice(0, 1) : p.inputs) if (x) stack.push(x);
    }
  }
  // Output names are the caller's keys: rename the producing node's output (an Identity would copy);
  // only a tensor exported twice, or one without a producer, needs an Identity.
  const rename = new Map<string, string>();
  const extra: onnxProto.onnx.INodeProto[] = [];
  const outInfos: onnxProto.onnx.IValueInfoProto[] = [];
  for (const [name, t] of Object.entries(outputs)) {
    if (name !== t.name) {
      if (t.producer && !rename.has(t.name)) rename.set(t.name, name);
      else extra.push({ opType: 'Identity', input: [rename.get(t.name) ?? t.name], output: [name], name: `out_${name}` });
    }
    outInfos.push({ ...valueInfo(t), name });
  }
  const ref = (x: Tensor | null): string => (x ? rename.get(x.name) ?? x.name : '');
  const nodes: onnxProto.onnx.INodeProto[] = graph.nodes
    .filter((n) => live.has(n.id))
    .map((n) => ({
      opType: ONNX_OP[n.op] ?? n.op,
      ...(CONTRIB_DOMAIN[n.op] ? { domain: CONTRIB_DOMAIN[n.op] } : {}),
      name: `${n.scope ? `${n.scope}/` : ''}n${n.id}_${n.op}`,
      // A CustomGrad node lists its rule's inputs only for the autodiff; ONNX sees Identity(value).
      input: (n.op === 'CustomGrad' ? n.inputs.slice(0, 1) : n.inputs).map(ref),
      output: n.outputs.map(ref),
      attribute: Object.entries(n.attrs).map(([k, a]) => attrProto(k, a)),
    }));
  const liveInputs = graph.inputs.filter((i) => liveTensors.has(i.tensor.name));
  const embedded = liveInputs.filter((i) => i.isParam && opts.embed?.[i.tensor.name] !== undefined).map((i) => i.tensor);
  const inputs = liveInputs.map((i) => i.tensor).filter((t) => !embedded.includes(t));
  const initializer = graph.initializers
    .filter((i) => liveTensors.has(i.name))
    .map((i) => ({ name: i.name, dataType: ONNX_DTYPE[i.dtype], dims: i.shape.slice(), rawData: byteView(i.data) }));
  for (const t of embedded) {
    const data = opts.embed![t.name];
    if (data.length !== t.size) throw new Error(`embedded parameter ${t.name}: ${data.length} values for shape [${t.shape}]`);
    if (data.BYTES_PER_ELEMENT !== allocTyped(t.dtype, 0).BYTES_PER_ELEMENT) throw new Error(`embedded parameter ${t.name}: values are not ${t.dtype}`);
    initializer.push({ name: t.name, dataType: ONNX_DTYPE[t.dtype], dims: t.shape.slice(), rawData: byteView(data) });
  }
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: 'clearbench',
    opsetImport: [{ domain: '', version: OPSET }, ...contribDomains(nodes).map((domain) => ({ domain, version: 1 }))],
    metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: { name: 'clearbench', node: [...nodes, ...extra], input: inputs.map(valueInfo), output: outInfos, initializer },
  });
  return { bytes: onnx.ModelProto.encode(model).finish(), inputs, outputs };
}

function contribDomains(nodes: readonly onnxProto.onnx.INodeProto[]): string[] {
  return [...new Set(nodes.map((n) => n.domain).filter((d): d is string => !!d))];
}
