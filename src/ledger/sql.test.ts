import { describe, expect, it } from 'vitest';
import { isConnectionError, toDate, toNumber } from './sql.js';
import { decodeCursor, encodeCursor } from './sql-rows.js';

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('isConnectionError', () => {
  it('recognises an unreachable database from either driver', () => {
    expect(isConnectionError(withCode('ECONNREFUSED'))).toBe(true);
    expect(isConnectionError(withCode('08006'))).toBe(true); // connection_failure
    expect(isConnectionError(withCode('57P01'))).toBe(true); // admin_shutdown
    expect(isConnectionError(withCode('53300'))).toBe(true); // too_many_connections
    expect(isConnectionError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isConnectionError(new Error('PGlite is closed'))).toBe(true);
    expect(isConnectionError(new AggregateError([withCode('ECONNREFUSED')]))).toBe(true);
    expect(isConnectionError(new Error('wrapped', { cause: withCode('ECONNRESET') }))).toBe(true);
  });

  it('leaves query mistakes and refusals alone', () => {
    expect(isConnectionError(withCode('42P01', 'relation "nope" does not exist'))).toBe(false);
    expect(isConnectionError(withCode('23505', 'duplicate key'))).toBe(false);
    expect(isConnectionError(withCode('57014', 'canceling statement due to statement timeout'))).toBe(false);
    expect(isConnectionError('ECONNREFUSED')).toBe(false);
  });
});

describe('column conversion', () => {
  it('reads BIGINT as a number whether the driver gives a number, a bigint or a string', () => {
    expect(toNumber(5)).toBe(5);
    expect(toNumber(6442450944n)).toBe(6442450944);
    expect(toNumber('6442450944')).toBe(6442450944);
    expect(() => toNumber(2n ** 53n + 1n)).toThrow(/2\^53/);
    expect(() => toNumber('1.5')).toThrow();
    expect(() => toNumber(null)).toThrow();
    expect(toDate('2030-01-01T00:00:00.000Z')).toEqual(new Date('2030-01-01T00:00:00.000Z'));
    expect(() => toDate('soon')).toThrow();
  });

  it('round-trips a listing cursor and refuses a forged one', () => {
    const position = { createdAt: new Date('2030-01-01T00:00:00.123Z'), id: 'abc' };
    const cursor = encodeCursor(position);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual(position);
    for (const bad of ['', '!!', Buffer.from('[1,2]').toString('base64url'), Buffer.from('["soon","x"]').toString('base64url')]) {
      expect(() => decodeCursor(bad)).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST' }));
    }
  });
});
