/**
 * A training step whose loss or gradient norm is NaN or infinite. The trainer throws it before the
 * step's update touches the weights (an update from such a step would make every weight NaN), and the
 * loops turn it into a one-line UserError that says where it happened and what to try.
 */
import { UserError } from '../util/errors.ts';

export class NonFiniteStepError extends Error {
  constructor(
    /** The 1-based optimiser step the failing micro-batch belongs to. */
    readonly step: number,
    /** The non-finite values by name: `loss`, the loss builder's metrics (the loss terms), `grad_norm`. */
    readonly values: Readonly<Record<string, number>>,
  ) {
    super(`non-finite values at optimiser step ${step}: ${describeValues(values)}`);
    this.name = 'NonFiniteStepError';
  }
}

/** `loss NaN, ce_forget Infinity, gradient norm NaN`. */
export function describeValues(values: Readonly<Record<string, number>>): string {
  return Object.entries(values).map(([k, v]) => `${k === 'grad_norm' ? 'gradient norm' : k} ${v}`).join(', ');
}

/** The entries of `values` that are NaN or ±Infinity. */
export function nonFinite(values: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => !Number.isFinite(v)));
}

/** Where a loop was when a step failed, and what the user should change. */
export interface StopContext {
  /** What stopped, e.g. `training` or `unlearning with 'ga'`. */
  what: string;
  totalSteps: number;
  /** 0-based, as in the step log. */
  epoch: number;
  epochs: number;
  phase?: string;
  /** How to fix it, e.g. `lower the learning rate (--lr)`. */
  fix: string;
}

/** `e` as the loop's one-line UserError when it is a non-finite step; any other error unchanged. */
export function stopOnNonFinite(e: unknown, c: StopContext): unknown {
  if (!(e instanceof NonFiniteStepError)) return e;
  const phase = c.phase && c.phase !== 'main' ? `, phase ${c.phase}` : '';
  return new UserError(
    `${c.what} stopped at step ${e.step} of ${c.totalSteps} (epoch ${c.epoch + 1} of ${c.epochs}${phase}): non-finite ${describeValues(e.values)}; ` +
      `no checkpoint was written; ${c.fix}`,
  );
}
