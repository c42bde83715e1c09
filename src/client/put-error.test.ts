import { describe, expect, it } from 'vitest';
import { DropgateError } from '../shared/errors.js';
import { storageError } from './put-error.js';

const s3 = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>x</RequestId></Error>`;

describe('storageError', () => {
  it('rebuilds the disk store’s own typed error', () => {
    const error = storageError(413, JSON.stringify({ error: { code: 'FILE_TOO_LARGE', message: 'Too big.', maxBytes: 10 } }));
    expect(error).toBeInstanceOf(DropgateError);
    expect(error).toMatchObject({ code: 'FILE_TOO_LARGE', message: 'Too big.', details: { maxBytes: 10 } });
  });

  it.each([
    [403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match', 'FORBIDDEN'],
    [403, 'AccessDenied', 'Request has expired', 'UPLOAD_EXPIRED'],
    [403, 'AccessDenied', 'Access Denied', 'FORBIDDEN'],
    [400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.', 'UPLOAD_INTEGRITY_FAILED'],
    [400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', 'FILE_TOO_LARGE'],
    [503, 'SlowDown', 'Please reduce your request rate.', 'STORAGE_UNAVAILABLE'],
    [412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', 'FORBIDDEN'],
    [400, 'SomethingNew', 'A code this client does not know', 'INVALID_REQUEST'],
  ])('translates S3 %i %s', (status, code, message, expected) => {
    const error = storageError(status, s3(code, message));
    expect(error.code).toBe(expected);
    expect(error.details).toEqual({ status, storageCode: code });
    expect(error.message).toContain(code);
    expect(error.message).toContain(message);
  });

  it.each([
    [403, 'FORBIDDEN'],
    [404, 'NOT_FOUND'],
    [411, 'INVALID_REQUEST'],
    [413, 'FILE_TOO_LARGE'],
    [429, 'RATE_LIMITED'],
    [502, 'STORAGE_UNAVAILABLE'],
  ])('falls back to the status for a body it cannot read (%i)', (status, expected) => {
    const error = storageError(status, '<html><body>Bad Gateway</body></html>');
    expect(error.code).toBe(expected);
    expect(error.details).toEqual({ status });
    expect(error.message).toContain(`status ${status}`);
  });

  it('does not trust JSON that is not an error body', () => {
    expect(storageError(500, '{"ok":false}').code).toBe('STORAGE_UNAVAILABLE');
    expect(storageError(400, '{not json').code).toBe('INVALID_REQUEST');
  });
});
