import { describe, expect, it } from 'vitest';
import type { GatewayRequest } from '../shared/http.js';
import { createJsonLogger, redactSecrets, requestIdOf, setRequestScope } from './serve-log.js';

describe('serve logs', () => {
  it('stamps time, and the id of the request an entry was made for', () => {
    const lines: string[] = [];
    const log = createJsonLogger((line) => lines.push(line));
    const raw = {};
    setRequestScope(raw, { requestId: 'req-1' });
    log({ level: 'info', msg: 'inside' }, { raw } as GatewayRequest);
    log({ level: 'warn', msg: 'outside' });
    log({ level: 'warn', msg: 'another request' }, { raw: {} } as GatewayRequest);
    const [inside, outside, another] = lines.map((line) => JSON.parse(line));
    expect(inside).toMatchObject({ level: 'info', msg: 'inside', requestId: 'req-1' });
    expect(Object.keys(inside).slice(0, 4)).toEqual(['time', 'level', 'msg', 'requestId']);
    expect(outside.requestId).toBeUndefined();
    expect(another.requestId).toBeUndefined();
    expect(lines.every((line) => line.indexOf('\n') === line.length - 1)).toBe(true);
  });

  it('keeps a sane incoming request id and replaces anything else', () => {
    expect(requestIdOf('lb-7f3a:01')).toBe('lb-7f3a:01');
    for (const bad of ['', 'a b', 'x'.repeat(129), 'line\nbreak', ['a', 'b'], undefined]) {
      expect(requestIdOf(bad)).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('cuts disk tokens, signatures, bearer tokens, JWTs and configured secrets out of any line', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';
    const line = redactSecrets(
      `PUT /api/upload/_disk/eyJ2IjoxfQ.abc failed; https://b.s3/k?X-Amz-Credential=AK%2F1&X-Amz-Signature=deadbeef auth=Bearer k_live_123 ${jwt}`,
    );
    expect(line).not.toMatch(/eyJ2|deadbeef|AK%2F1|k_live_123|c2lnbmF0dXJl/);
    expect(line).toContain('/_disk/…');
    const lines: string[] = [];
    createJsonLogger((l) => lines.push(l), ['k_plain_secret_value'])({ level: 'error', msg: 'oops k_plain_secret_value' });
    expect(lines[0]).not.toContain('k_plain_secret_value');
  });

  it('cuts every configured secret by value, whole, regex characters taken literally', () => {
    const lines: string[] = [];
    const keys = [
      'k.live+key/0001',
      'k.live+key/0001-longer',
      'tiny',
      ...Array.from({ length: 50 }, (_, i) => `bench-key-${i}-0123456789`),
    ];
    createJsonLogger(
      (l) => lines.push(l),
      keys,
    )({ level: 'warn', msg: 'a k.live+key/0001-longer b k.live+key/0001 c kXlive+key/0001 d tiny e bench-key-42-0123456789' });
    const { msg } = JSON.parse(lines[0]!);
    expect(msg).toBe('a … b … c kXlive+key/0001 d tiny e …');
  });
});
