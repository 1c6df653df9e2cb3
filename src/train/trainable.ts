/**
 * Which parameters of a model train, one rule for fine-tuning and unlearning: none under a frozen prefix
 * (no prefixes given: the model kind's default), and when LoRA adapters are present only the adapters
 * (their scale is a constant), the frozen layers' adapters included in the freeze.
 */
import { type LoadedModel } from '../models/model.ts';

/** `keep` sees the layer's own weight name for an adapter, so a filter written for full fine-tuning applies to LoRA too. */
export function trainableNames(model: LoadedModel, frozenPrefixes: readonly string[] | null | undefined, keep: (name: string) => boolean = () => true): string[] {
  const frozen = (n: string) => (frozenPrefixes ? frozenPrefixes.some((p) => n.startsWith(p)) : !model.defaultTrainable(n));
  const names = model.params.names();
  const lora = names.some((n) => n.endsWith('.lora_A'));
  return names.filter((n) => {
    if (lora && !/\.lora_[AB]$/.test(n)) return false;
    if (n.endsWith('.lora_scale')) return false;
    if (frozen(n)) return false;
    return keep(n.replace(/\.lora_[AB]$/, '.weight'));
  });
}
