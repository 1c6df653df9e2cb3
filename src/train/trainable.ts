/**
 * Which parameters of a model train, one rule for fine-tuning and unlearning: none under a frozen prefix
 * (no prefixes given: the model kind's default), and when LoRA adapters are present only the adapters
 * (their scale is a constant), the frozen layers' adapters included in the freeze.
 */
import { type LoadedModel } from '../models/model.ts';
import { UserError } from '../util/errors.ts';

/**
 * `keep` sees the layer's own weight name for an adapter, so a filter written for full fine-tuning applies to LoRA too.
 * A frozen prefix that names no parameter is refused (`key` says where it was set): a prefix of another model kind
 * (the built-in VLM's `vision.` on a LLaVA, whose tower is `model.vision_tower.`) would otherwise freeze nothing
 * and train what the config meant to keep.
 */
export function trainableNames(model: LoadedModel, frozenPrefixes: readonly string[] | null | undefined, keep: (name: string) => boolean = () => true, key = 'frozen'): string[] {
  const frozen = (n: string) => (frozenPrefixes ? frozenPrefixes.some((p) => n.startsWith(p)) : !model.defaultTrainable(n));
  const names = model.params.names();
  const unmatched = (frozenPrefixes ?? []).filter((p) => !names.some((n) => n.startsWith(p)));
  if (unmatched.length) {
    const heads = [...new Set(names.map((n) => n.split('.').slice(0, 2).join('.') + '.'))].slice(0, 6);
    throw new UserError(`${key} prefix ${unmatched.map((p) => `'${p}'`).join(', ')} matches no parameter of this model (its parameters start with ${heads.join(', ')}…); name a prefix it has, or drop it from ${key}`);
  }
  const lora = names.some((n) => n.endsWith('.lora_A'));
  return names.filter((n) => {
    if (lora && !/\.lora_[AB]$/.test(n)) return false;
    if (n.endsWith('.lora_scale')) return false;
    if (frozen(n)) return false;
    return keep(n.replace(/\.lora_[AB]$/, '.weight'));
  });
}
