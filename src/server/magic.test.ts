import { describe, expect, it } from 'vitest';
import { bytesMatchType } from './magic.js';

const bytes = (...values: (number | string)[]) =>
  new Uint8Array(values.flatMap((v) => (typeof v === 'string' ? Array.from(v, (c) => c.charCodeAt(0)) : [v])));

describe('bytesMatchType', () => {
  it('accepts real signatures', () => {
    expect(bytesMatchType(bytes(0, 0, 0, 0x18, 'ftypisom'), 'video/mp4')).toBe(true);
    expect(bytesMatchType(bytes(0x89, 'PNG', 0x0d, 0x0a, 0x1a, 0x0a), 'image/png')).toBe(true);
    expect(bytesMatchType(bytes(0xff, 0xd8, 0xff, 0xe0), 'image/jpeg')).toBe(true);
    expect(bytesMatchType(bytes('RIFF', 0, 0, 0, 0, 'WEBP'), 'image/webp')).toBe(true);
    expect(bytesMatchType(bytes(0x1a, 0x45, 0xdf, 0xa3), 'video/webm')).toBe(true);
    expect(bytesMatchType(bytes('%PDF-1.7'), 'application/pdf')).toBe(true);
  });

  it('refuses bytes of another kind', () => {
    expect(bytesMatchType(bytes('<html><body>'), 'image/png')).toBe(false);
    expect(bytesMatchType(bytes(0x89, 'PNG', 0x0d, 0x0a, 0x1a, 0x0a), 'video/mp4')).toBe(false);
    expect(bytesMatchType(bytes(0x7f, 'ELF'), 'application/pdf')).toBe(false);
  });

  it('refuses markup and executables for types without a signature', () => {
    expect(bytesMatchType(bytes('hello world'), 'text/plain')).toBe(true);
    expect(bytesMatchType(bytes(0xef, 0xbb, 0xbf, '  <!DOCTYPE html>'), 'text/plain')).toBe(false);
    expect(bytesMatchType(bytes('<svg onload=alert(1)>'), 'text/csv')).toBe(false);
    expect(bytesMatchType(bytes('MZ', 0x90, 0), 'application/octet-stream')).toBe(false);
  });
});
