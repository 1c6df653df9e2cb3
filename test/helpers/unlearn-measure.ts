/**
 * Direction tests on the tiny target: run unlearning at shared settings and report how the mean answer
 * NLL L̄ (./measure.ts) moved on the forget answers, the retain answers and a fixed probe of forget
 * prompts with "I don't know" answers; plus a cached gradient-ascent baseline at the same settings.
 */
import { IDK_ANSWERS } from '../../datasets/idk.ts';
import ga from '../../methods/ga.ts';
import { type AnyMethod } from '../../src/methods/api.ts';
import { unlearn } from '../../src/methods/unlearn.ts';
import { type Example } from '../../src/train/examples.ts';
import { measure } from './measure.ts';
import { tinyTarget } from './tiny-target.ts';

/** Every forget prompt with each of the first `n` IDK answers (a fixed probe set). */
export function idkProbe(forget: readonly Example[], n = 6): Example[] {
  return forget.flatMap((e) => IDK_ANSWERS.slice(0, n).map((answer) => ({ ...e, answer })));
}

export interface Shift {
  /** Change of the mean L̄ (after − before) on the forget answers, the retain answers and the IDK probe. */
  forget: number;
  retain: number;
  idk: number;
}

/** Unlearn a fresh copy of the tiny target (3 epochs, batch 4, AdamW lr 1e-3, seed 0) and measure the shifts. */
export async function unlearnShift(method: AnyMethod, hyperparameters: Record<string, unknown> = {}): Promise<Shift> {
  const t = await tinyTarget();
  const probe = idkProbe(t.forget);
  const nll = async () => ({ forget: (await measure(t, t.forget)).meanNll, retain: (await measure(t, t.retain)).meanNll, idk: (await measure(t, probe)).meanNll });
  const before = await nll();
  await unlearn({
    method, hyperparameters, model: t.model, forget: t.forget, retain: t.retain, images: t.images,
    epochs: 3, batchSize: 4, seed: 0, optimizer: { optimizer: { type: 'adamw', lr: 1e-3 }, threads: 1 },
  });
  const after = await nll();
  return { forget: after.forget - before.forget, retain: after.retain - before.retain, idk: after.idk - before.idk };
}

let gaBaseline: Promise<Shift> | null = null;

/** Plain gradient ascent at the same settings: the retain damage that methods with a retain term should beat. */
export function gaShift(): Promise<Shift> {
  gaBaseline ??= unlearnShift(ga);
  return gaBaseline;
}
