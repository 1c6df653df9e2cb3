import { InvalidArgumentError } from 'commander';

/** Commander parser for a positive integer option. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got '${value}'`);
  return n;
}

/** Commander parser for a finite positive number (learning rates). */
export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got '${value}'`);
  return n;
}

/** Commander parser for a fraction in (0, 1]. */
export function fraction(value: string): number {
  const n = Number(value);
  if (!(n > 0 && n <= 1)) throw new InvalidArgumentError(`expected a fraction in (0, 1], got '${value}'`);
  return n;
}

/** Commander parser for a seed: an integer from 0 to 2³¹ − 1. */
export function seedInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 2 ** 31 - 1) throw new InvalidArgumentError(`expected an integer from 0 to 2147483647, got '${value}'`);
  return n;
}

/** Commander parser for one of a fixed set of names; `what` names the option in the error. */
export const choice = <T extends string>(values: readonly T[], what: string) => (value: string): T => {
  if (!values.includes(value as T)) throw new InvalidArgumentError(`${what} must be one of ${values.join(', ')}`);
  return value as T;
};
