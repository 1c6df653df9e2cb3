/**
 * The one error line and exit code shared by the CLI and the pipeline worker (src/util/errors.ts): the
 * executor reports a failed job by the worker's last line, so both must write it alike.
 */
import { describe, expect, test } from '@jest/globals';
import { UserError, errorLine, exitCodeOf } from '../../src/util/errors.ts';

describe('errorLine and exitCodeOf', () => {
  test('a UserError: its one line and its exit code', () => {
    const err = new UserError('--lr must be positive; pass a number above 0', 2);
    expect(errorLine(err)).toBe('clearbench: --lr must be positive; pass a number above 0');
    expect(exitCodeOf(err)).toBe(2);
  });

  test('any other error: its message and exit code 1; with debug, the stack', () => {
    const err = new TypeError('x is undefined');
    expect(errorLine(err)).toBe('clearbench: x is undefined');
    expect(errorLine(err, true)).toBe(`clearbench: ${err.stack}`);
    expect(errorLine(err, true).split('\n').length).toBeGreaterThan(1);
    expect(exitCodeOf(err)).toBe(1);
  });

  test('a thrown non-error value is written as it is', () => {
    expect(errorLine('disk full')).toBe('clearbench: disk full');
    expect(errorLine(undefined)).toBe('clearbench: undefined');
    expect(exitCodeOf('disk full')).toBe(1);
  });
});
