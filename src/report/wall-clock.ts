/**
 * Wall-clock fields: how long a step took, which differs between two runs of one config on one machine
 * even when every result is the same. They are shown (the Wall column) but never decide whether two
 * results are the same; this is the one list of them. meta.json `wall_s` is the only one: an
 * evaluation's timing is printed, never written into summary.json.
 */
import type { EvalSummary, ModelMeta } from '../results/contract.ts';

/** A model's meta.json without its wall-clock field, beside one evaluation summary. */
export function withoutWallClock(meta: ModelMeta, summary: EvalSummary): { meta: Omit<ModelMeta, 'wall_s'>; summary: EvalSummary } {
  const { wall_s: _trainSeconds, ...timelessMeta } = meta;
  return { meta: timelessMeta, summary };
}
