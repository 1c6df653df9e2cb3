/**
 * Wall-clock fields: how long a step took, which differs between two runs of one config on one machine
 * even when every result is the same. They are shown (the Wall column, timing in JSON) but never decide
 * whether two results are the same; this is the one list of them.
 */
import type { EvalSummary, ModelMeta } from './contract.ts';

/** A model's meta.json and one evaluation summary without their wall-clock fields. */
export function withoutWallClock(meta: ModelMeta, summary: EvalSummary): { meta: Omit<ModelMeta, 'wall_s'>; summary: Omit<EvalSummary, 'timing'> } {
  const { wall_s: _trainSeconds, ...timelessMeta } = meta;
  const { timing: _evalSeconds, ...timelessSummary } = summary;
  return { meta: timelessMeta, summary: timelessSummary };
}
