import { describe, expect, it } from 'vitest';
import { DropgateError } from '../shared/errors.js';
import { createPresigner, deriveSigningKey, encodeKey, MAX_PRESIGN_SECONDS, signingKeyDerivations, uriEncode } from './sigv4.js';

const params = (url: string) => new URL(url).searchParams;

describe("AWS's published SigV4 examples", () => {
  it('derives the signing key of the SigV4 documentation example (iam, us-east-1, 20120215)', () => {
    const key = deriveSigningKey('wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', '20120215', 'us-east-1', 'iam');
    expect(key.toString('hex')).toBe('f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d');
  });

  it("signs the S3 documentation's presigned GET of examplebucket/test.txt", () => {
    // The S3 API reference example predates X-Amz-Content-Sha256 in the query, hence contentSha256Param: false.
    const presigner = createPresigner({
      credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
      region: 'us-east-1',
      contentSha256Param: false,
    });
    const url = presigner.presign({
      method: 'GET',
      url: 'https://examplebucket.s3.amazonaws.com',
      key: 'test.txt',
      expiresIn: 86400,
      now: new Date('2013-05-24T00:00:00Z'),
    });
    expect(url).toBe(
      'https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256' +
        '&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request' +
        '&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400' +
        '&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404' +
        '&X-Amz-SignedHeaders=host',
    );
  });
});

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const base = 'http://127.0.0.1:7480/bucket';
const noon = new Date('2024-03-10T12:00:00Z');

describe('signing key cache', () => {
  it('derives the key once per day, and again when the day changes', () => {
    const presigner = createPresigner({ credentials, region: 'eu-west-1' });
    const before = signingKeyDerivations();
    for (let i = 0; i < 100; i++)
      presigner.presign({ method: 'GET', url: base, key: `k${i}`, expiresIn: 60, now: new Date(noon.getTime() + i * 60_000) });
    expect(signingKeyDerivations() - before).toBe(1);
    presigner.presign({ method: 'GET', url: base, key: 'k', expiresIn: 60, now: new Date('2024-03-11T00:00:00Z') });
    expect(signingKeyDerivations() - before).toBe(2);
    presigner.presign({ method: 'GET', url: base, key: 'k', expiresIn: 60, now: new Date('2024-03-11T23:59:59Z') });
    expect(signingKeyDerivations() - before).toBe(2);
  });

  it('derives anew when the credentials change, and signs with the new secret', () => {
    let current = credentials;
    const presigner = createPresigner({ credentials: () => current, region: 'eu-west-1' });
    const input = { method: 'GET' as const, url: base, key: 'k', expiresIn: 60, now: noon };
    const before = signingKeyDerivations();
    const first = presigner.presign(input);
    current = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'another-secret' };
    const second = presigner.presign(input);
    expect(signingKeyDerivations() - before).toBe(2);
    expect(params(second).get('X-Amz-Signature')).not.toBe(params(first).get('X-Amz-Signature'));
    // Same as a fresh presigner with those credentials: the cache never serves a stale key.
    expect(second).toBe(createPresigner({ credentials: current, region: 'eu-west-1' }).presign(input));
  });
});

describe('lifetime', () => {
  const presigner = createPresigner({ credentials, region: 'us-east-1' });
  const input = { method: 'PUT' as const, url: base, key: 'a.mp4', now: noon };

  it('accepts 1 s to 7 days and refuses anything else', () => {
    expect(params(presigner.presign({ ...input, expiresIn: MAX_PRESIGN_SECONDS })).get('X-Amz-Expires')).toBe('604800');
    expect(params(presigner.presign({ ...input, expiresIn: 1 })).get('X-Amz-Expires')).toBe('1');
    for (const expiresIn of [MAX_PRESIGN_SECONDS + 1, 0, -5, 1.5, Number.NaN]) {
      expect(() => presigner.presign({ ...input, expiresIn })).toThrow(RangeError);
    }
  });

  it('is cut to the time the credentials have left, and says so', () => {
    const expiration = new Date(noon.getTime() + 300_500);
    const temporary = createPresigner({ credentials: { ...credentials, sessionToken: 'token', expiration }, region: 'us-east-1' });
    const signed = temporary.presignRequest({ ...input, expiresIn: 600 });
    expect(signed.expiresIn).toBe(300);
    expect(params(signed.url).get('X-Amz-Expires')).toBe('300');
    expect(signed.expiresAt.toISOString()).toBe('2024-03-10T12:05:00.000Z');
    expect(temporary.presignRequest({ ...input, expiresIn: 60 }).expiresIn).toBe(60);
  });

  it('refuses to sign with expired credentials (fail closed)', () => {
    const expired = createPresigner({ credentials: { ...credentials, expiration: new Date(noon.getTime() + 999) }, region: 'us-east-1' });
    const error = (() => {
      try {
        expired.presign({ ...input, expiresIn: 60 });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(DropgateError);
    expect((error as DropgateError).code).toBe('STORAGE_UNAVAILABLE');
  });

  it('counts from the signing second (X-Amz-Date has no milliseconds)', () => {
    const signed = presigner.presignRequest({ ...input, expiresIn: 600, now: new Date('2024-03-10T12:00:00.999Z') });
    expect(params(signed.url).get('X-Amz-Date')).toBe('20240310T120000Z');
    expect(signed.expiresAt.toISOString()).toBe('2024-03-10T12:10:00.000Z');
  });
});

describe('encoding', () => {
  it('leaves RFC 3986 unreserved characters alone and encodes every other byte as upper-case %XX', () => {
    expect(uriEncode('AZaz09-._~')).toBe('AZaz09-._~');
    expect(uriEncode(' !"#$%&\'()*+,/:;<=>?@[\\]^`{|}')).toBe(
      '%20%21%22%23%24%25%26%27%28%29%2A%2B%2C%2F%3A%3B%3C%3D%3E%3F%40%5B%5C%5D%5E%60%7B%7C%7D',
    );
    expect(uriEncode('é🎬')).toBe('%C3%A9%F0%9F%8E%AC');
  });

  it('encodes keys segment by segment, keeping slashes and empty segments', () => {
    expect(encodeKey('videos/a b+c.mp4')).toBe('videos/a%20b%2Bc.mp4');
    expect(encodeKey('/a//b/.c/..d/e./')).toBe('/a//b/.c/..d/e./');
    expect(encodeKey('100%/x%2Fy')).toBe('100%25/x%252Fy');
  });

  it('refuses keys with . or .. segments, which fetch and browsers would resolve away', () => {
    for (const key of ['.', '..', './a', '../a', 'a/./b', 'a/../b', 'a/.', 'a/..']) expect(() => encodeKey(key)).toThrow(TypeError);
  });

  it('refuses lone surrogates instead of signing something else', () => {
    expect(() => encodeKey('bad\ud800key')).toThrow(TypeError);
  });

  it('gives the same URL for a raw key, and for the same key already encoded in the url', () => {
    const presigner = createPresigner({ credentials, region: 'us-east-1' });
    const common = { method: 'GET' as const, expiresIn: 60, now: noon };
    const raw = presigner.presign({ ...common, url: base, key: "dir/it's (1) ü.mp4" });
    expect(raw.startsWith(`${base}/dir/it%27s%20%281%29%20%C3%BC.mp4?`)).toBe(true);
    expect(presigner.presign({ ...common, url: `${base}/dir/it's%20(1)%20%C3%BC.mp4` })).toBe(raw);
    expect(presigner.presign({ ...common, url: new URL(`${base}/dir/${encodeURIComponent("it's (1) ü.mp4")}`) })).toBe(raw);
    expect(presigner.presign({ ...common, url: `${base}/`, key: "dir/it's (1) ü.mp4" })).toBe(raw);
  });

  it('signs query parameters from the url and from `query` alike, sorted and encoded', () => {
    const presigner = createPresigner({ credentials, region: 'us-east-1' });
    const common = { method: 'PUT' as const, key: 'k', expiresIn: 60, now: noon };
    const viaQuery = presigner.presign({ ...common, url: base, query: { uploadId: 'a+b/c=', partNumber: '2' } });
    const viaUrl = presigner.presign({ ...common, url: `${base}?uploadId=a%2Bb%2Fc%3D&partNumber=2` });
    expect(viaUrl).toBe(viaQuery);
    // `+` in the url's query is a plus sign, as SigV4 reads it, never a space.
    expect(presigner.presign({ ...common, url: `${base}?uploadId=a+b/c=&partNumber=2` })).toBe(viaQuery);
    expect(viaQuery).toMatch(/&X-Amz-SignedHeaders=host&partNumber=2&uploadId=a%2Bb%2Fc%3D$/);
  });
});

describe('headers', () => {
  const presigner = createPresigner({ credentials, region: 'us-east-1' });
  const input = { method: 'PUT' as const, url: base, key: 'a.mp4', expiresIn: 600, now: noon };

  it('signs the given headers and host, moves x-amz-* into the query, and reports what the client must send', () => {
    const signed = presigner.presignRequest({
      ...input,
      headers: {
        'Content-Type': 'video/mp4',
        'content-length': '1048576',
        'Content-MD5': '1B2M2Y8AsgTpgAmY7PhCfg==',
        'If-None-Match': '*',
        'x-amz-acl': 'private',
        'x-amz-server-side-encryption': 'AES256',
      },
    });
    const query = params(signed.url);
    expect(query.get('X-Amz-SignedHeaders')).toBe(
      'content-length;content-md5;content-type;host;if-none-match;x-amz-server-side-encryption',
    );
    expect(query.get('x-amz-acl')).toBe('private');
    expect(signed.headers).toEqual({
      'content-type': 'video/mp4',
      'content-length': '1048576',
      'content-md5': '1B2M2Y8AsgTpgAmY7PhCfg==',
      'if-none-match': '*',
      'x-amz-server-side-encryption': 'AES256',
    });
  });

  it('keeps listed x-amz-* headers as headers', () => {
    const signed = presigner.presignRequest({
      ...input,
      headers: { 'x-amz-checksum-sha256': 'abc=' },
      unhoistableHeaders: ['x-amz-checksum-sha256'],
    });
    expect(params(signed.url).get('X-Amz-SignedHeaders')).toBe('host;x-amz-checksum-sha256');
    expect(signed.headers).toEqual({ 'x-amz-checksum-sha256': 'abc=' });
  });

  it('binds each signed header: another length or type is another signature', () => {
    const sig = (headers: Record<string, string>) => params(presigner.presign({ ...input, headers })).get('X-Amz-Signature');
    const reference = sig({ 'content-length': '10', 'content-type': 'video/mp4' });
    expect(sig({ 'content-length': '11', 'content-type': 'video/mp4' })).not.toBe(reference);
    expect(sig({ 'content-length': '10', 'content-type': 'video/webm' })).not.toBe(reference);
    // Spacing is canonicalized, as a server canonicalizes what it receives.
    expect(sig({ 'content-length': '10', 'content-type': ' video/mp4  ' })).toBe(reference);
  });

  it('refuses headers and parameters that are the signer’s own, duplicates, and CR/LF', () => {
    for (const headers of [{ host: 'evil.example' }, { Authorization: 'x' }, { 'x-amz-date': '1' }, { 'X-Amz-Security-Token': 't' }]) {
      expect(() => presigner.presign({ ...input, headers })).toThrow(TypeError);
    }
    expect(() => presigner.presign({ ...input, query: { 'X-Amz-Signature': 'x' } })).toThrow(TypeError);
    expect(() => presigner.presign({ ...input, headers: { 'Content-Type': 'a', 'content-type': 'b' } })).toThrow(TypeError);
    expect(() => presigner.presign({ ...input, headers: { 'x-amz-acl': 'private' }, query: { 'x-amz-acl': 'public-read' } })).toThrow(
      TypeError,
    );
    expect(() => presigner.presign({ ...input, headers: { 'content-type': 'a\r\nx-evil: 1' } })).toThrow(TypeError);
    expect(() => presigner.presign({ ...input, headers: { 'content type': 'a' } })).toThrow(TypeError);
    expect(() => presigner.presign({ ...input, headers: { 'x-evil:': 'a' } })).toThrow(TypeError);
  });

  it('refuses URLs it cannot sign faithfully', () => {
    for (const url of ['ftp://host/bucket', 'https://user:pw@host/bucket', 'https://host/bucket#frag', 'https://host/b%zz']) {
      expect(() => presigner.presign({ ...input, url })).toThrow(TypeError);
    }
  });

  it('adds the session token to the signed query', () => {
    const temporary = createPresigner({ credentials: { ...credentials, sessionToken: 'tok/en+=' }, region: 'us-east-1' });
    expect(temporary.presign(input)).toContain('&X-Amz-Security-Token=tok%2Fen%2B%3D&X-Amz-Signature=');
  });
});
