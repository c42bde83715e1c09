import { describe, expect, it } from 'vitest';
import { gatewayRequest } from '../../test/helpers/requests.js';
import { assertNotCrossSite, preflightHeaders } from './origin.js';

const policy = { ownOrigin: 'https://app.example', allowedOrigins: new Set(['https://partner.example']) };
const post = (headers: Record<string, string>) => gatewayRequest('POST', '/api/upload', { headers });

describe('assertNotCrossSite', () => {
  it('lets same-origin and allowed origins through', () => {
    expect(() => assertNotCrossSite(post({ origin: 'https://app.example', 'content-type': 'text/plain' }), policy)).not.toThrow();
    expect(() => assertNotCrossSite(post({ origin: 'https://partner.example' }), policy)).not.toThrow();
    expect(() => assertNotCrossSite(post({ 'sec-fetch-site': 'same-origin', 'content-type': 'text/plain' }), policy)).not.toThrow();
  });

  it('refuses other origins, cross-site fetches, opaque origins and bare form posts', () => {
    expect(() => assertNotCrossSite(post({ origin: 'https://evil.example' }), policy)).toThrow(/not allowed/);
    expect(() => assertNotCrossSite(post({ 'sec-fetch-site': 'cross-site' }), policy)).toThrow(/Cross-site/);
    expect(() => assertNotCrossSite(post({ origin: 'null' }), policy)).toThrow(/opaque/);
    expect(() => assertNotCrossSite(post({ 'content-type': 'text/plain' }), policy)).toThrow(/application\/json/);
    expect(() => assertNotCrossSite(post({ 'content-type': 'application/json; charset=utf-8' }), policy)).not.toThrow();
  });

  it('without a configured origin compares with Host, and never trusts a spoofed one', () => {
    const open = { ownOrigin: undefined, allowedOrigins: new Set<string>() };
    expect(() => assertNotCrossSite(post({ origin: 'http://localhost:3000', host: 'localhost:3000' }), open)).not.toThrow();
    expect(() => assertNotCrossSite(post({ origin: 'http://evil.example', host: 'localhost:3000' }), open)).toThrow();
  });
});

describe('preflightHeaders', () => {
  it('answers allowed origins only', () => {
    const allowed = preflightHeaders(gatewayRequest('OPTIONS', '/', { headers: { origin: 'https://partner.example' } }), policy);
    expect(allowed['access-control-allow-origin']).toBe('https://partner.example');
    const other = preflightHeaders(gatewayRequest('OPTIONS', '/', { headers: { origin: 'https://evil.example' } }), policy);
    expect(other['access-control-allow-origin']).toBeUndefined();
  });
});
