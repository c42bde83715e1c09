import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { singlePutAnswerText } from './sign-answer.js';

const answer = {
  uploadId: '0b6f1e9e-7c1d-4e8a-9b1c-1234567890ab',
  key: 'uploads/0b6f1e9e-7c1d-4e8a-9b1c-1234567890ab.mp4',
  presignedUrl:
    'http://127.0.0.1:7480/b/uploads/0b6f1e9e.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=A%2F20261124%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=ab',
  readUrl: '/api/upload/0b6f1e9e-7c1d-4e8a-9b1c-1234567890ab/file',
  method: 'PUT' as const,
  headers: { 'content-type': 'video/mp4', 'if-none-match': '*' },
  expiresAt: '2026-11-24T10:25:10.000Z',
  uploadExpiresAt: '2026-11-25T10:10:10.123Z',
};

describe('the single-PUT sign answer as JSON text', () => {
  it('is what JSON.stringify writes, for an ordinary answer and for one without headers', () => {
    expect(singlePutAnswerText(answer)).toBe(JSON.stringify(answer));
    const bare = { ...answer, headers: {} };
    expect(singlePutAnswerText(bare)).toBe(JSON.stringify(bare));
  });

  it('escapes what JSON must escape: quotes, backslashes, controls, lone surrogates; keeps the rest', () => {
    const odd = ['"', '\\', '\n', '\u0000', '\u001f', '\u007f', 'é', '😀', '\ud800', 'x\udc00', '\u2028', '</script>'];
    for (const text of odd) {
      for (const field of ['uploadId', 'key', 'presignedUrl', 'readUrl', 'expiresAt', 'uploadExpiresAt'] as const) {
        const value = { ...answer, [field]: `a${text}b` };
        expect(singlePutAnswerText(value), `${field}: ${JSON.stringify(text)}`).toBe(JSON.stringify(value));
      }
      const headers = { ...answer, headers: { [`x-${text}`]: `v${text}` } };
      expect(singlePutAnswerText(headers)).toBe(JSON.stringify(headers));
    }
  });

  it('matches JSON.stringify on arbitrary strings in every field', () => {
    const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.webUrl());
    fc.assert(
      fc.property(text, text, text, text, fc.dictionary(text, text, { maxKeys: 3 }), (uploadId, key, presignedUrl, readUrl, headers) => {
        const value = { ...answer, uploadId, key, presignedUrl, readUrl, headers };
        return singlePutAnswerText(value) === JSON.stringify(value);
      }),
      { numRuns: 3000 },
    );
  });
});
