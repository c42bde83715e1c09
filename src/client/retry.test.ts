import { describe, expect, it } from 'vitest';
import { DropgateError, type ErrorCode } from '../shared/errors.js';
import { backoffDelay, decide, isResumable, parseRetryAfter } from './retry.js';

const error = (code: ErrorCode, details = {}) => new DropgateError(code, code, details);
const delays = [0, 1000, 3000, 5000];

describe('decide', () => {
  it.each([
    ['NETWORK_ERROR', 'retry'],
    ['STORAGE_UNAVAILABLE', 'retry'],
    ['SERVICE_UNAVAILABLE', 'retry'],
    ['RATE_LIMITED', 'retry'],
    ['UPLOAD_EXPIRED', 'resign'],
    ['UPLOAD_INTEGRITY_FAILED', 'rehash'],
    ['FORBIDDEN', 'fail'],
    ['INVALID_REQUEST', 'fail'],
    ['NOT_FOUND', 'fail'],
    ['FILE_TOO_LARGE', 'fail'],
  ] as const)('a part PUT failing with %s: %s', (code, kind) => {
    expect(decide(error(code), 'storage', 0, delays).kind).toBe(kind);
  });

  it('a used-up disk URL is signed again; an API call that says the upload expired fails', () => {
    expect(decide(error('FORBIDDEN', { reason: 'token-used' }), 'storage', 0, delays).kind).toBe('resign');
    expect(decide(error('UPLOAD_EXPIRED'), 'api', 0, delays).kind).toBe('fail');
    expect(decide(error('UPLOAD_INTEGRITY_FAILED'), 'api', 0, delays).kind).toBe('fail');
  });

  it('retries as many times as there are delays, then fails', () => {
    expect(decide(error('NETWORK_ERROR'), 'storage', 3, delays).kind).toBe('retry');
    expect(decide(error('NETWORK_ERROR'), 'storage', 4, delays).kind).toBe('fail');
    expect(decide(error('UPLOAD_EXPIRED'), 'storage', 4, delays).kind).toBe('fail');
  });

  it('honours Retry-After and marks a 429 as slowing the queue', () => {
    expect(decide(error('RATE_LIMITED', { retryAfter: 7 }), 'storage', 0, delays)).toEqual({
      kind: 'retry',
      delayMs: 7000,
      rateLimited: true,
    });
    expect(decide(error('STORAGE_UNAVAILABLE', { retryAfter: 2 }), 'api', 0, delays)).toEqual({
      kind: 'retry',
      delayMs: 2000,
      rateLimited: false,
    });
  });

  it('treats errors that are not DropgateErrors as bugs: no retry', () => {
    expect(decide(new TypeError('x'), 'storage', 0, delays).kind).toBe('fail');
  });
});

describe('backoffDelay', () => {
  it('jitters each listed delay by ±20% and repeats the last one', () => {
    expect(backoffDelay(0, delays, () => 0.5)).toBe(0);
    expect(backoffDelay(1, delays, () => 0)).toBe(800);
    expect(backoffDelay(1, delays, () => 1)).toBe(1200);
    expect(backoffDelay(9, delays, () => 0.5)).toBe(5000);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('3')).toBe(3);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});

it('isResumable: transient failures keep a saved upload, refusals do not', () => {
  expect(isResumable(error('NETWORK_ERROR'))).toBe(true);
  expect(isResumable(error('RATE_LIMITED'))).toBe(true);
  expect(isResumable(error('UPLOAD_INTEGRITY_FAILED'))).toBe(false);
  expect(isResumable(error('UPLOAD_ABORTED'))).toBe(false);
});
