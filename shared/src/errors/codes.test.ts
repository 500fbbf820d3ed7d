import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, errorCodes, isErrorCode } from './codes.js';
import { EdgefleetError, isEdgefleetError, toEdgefleetError } from './edgefleet-error.js';

const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
const documented = new Map([...doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])]));

describe('error catalogue', () => {
  it('documents every code in docs/errors.md with its HTTP status', () => {
    const missing = errorCodes.filter((code) => !documented.has(code));
    expect(missing, `codes missing from docs/errors.md: ${missing.join(', ')}`).toEqual([]);
    for (const code of errorCodes) expect(documented.get(code), code).toBe(ERROR_CODES[code].status);
  });

  it('documents no code that does not exist', () => {
    const stale = [...documented.keys()].filter((code) => !isErrorCode(code));
    expect(stale, `stale codes in docs/errors.md: ${stale.join(', ')}`).toEqual([]);
  });

  it('uses SCREAMING_SNAKE codes and 4xx/5xx statuses', () => {
    for (const code of errorCodes) {
      expect(code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
      expect(ERROR_CODES[code].status).toBeGreaterThanOrEqual(400);
      expect(ERROR_CODES[code].status).toBeLessThan(600);
    }
  });
});

describe('EdgefleetError', () => {
  it('keeps code, cause, details and status', () => {
    const cause = new Error('disk on fire');
    const err = new EdgefleetError('DISK_SPACE_INSUFFICIENT', 'need 10 MB more', { cause, details: { missingBytes: 10 } });
    expect(err.code).toBe('DISK_SPACE_INSUFFICIENT');
    expect(err.cause).toBe(cause);
    expect(err.status).toBe(507);
    expect(err.toJSON()).toEqual({ code: 'DISK_SPACE_INSUFFICIENT', message: 'need 10 MB more', details: { missingBytes: 10 } });
    expect(isEdgefleetError(err, 'DISK_SPACE_INSUFFICIENT')).toBe(true);
    expect(isEdgefleetError(err, 'INTERNAL')).toBe(false);
  });

  it('wraps foreign errors without losing the cause', () => {
    const cause = new TypeError('boom');
    const wrapped = toEdgefleetError(cause, 'INFERENCE_FAILED');
    expect(wrapped.code).toBe('INFERENCE_FAILED');
    expect(wrapped.cause).toBe(cause);
    expect(toEdgefleetError(wrapped)).toBe(wrapped);
    expect(toEdgefleetError(Object.assign(new Error('x'), { code: 'MODEL_INVALID' })).code).toBe('MODEL_INVALID');
    expect(toEdgefleetError(Object.assign(new Error('x'), { code: 'ENOENT' })).code).toBe('INTERNAL');
  });
});
