/**
 * The SigV4 signing key and the date strings of a signature. Deriving the key is an HMAC chain of
 * four steps, so callers cache it per day; the counter lets tests see that they do.
 */
import { createHmac } from 'node:crypto';

let derivations = 0;

/** How many signing keys were derived so far (tests check that the cache works). */
export function signingKeyDerivations(): number {
  return derivations;
}

/**
 * The SigV4 signing key: HMAC chain over date (YYYYMMDD), region, service and "aws4_request".
 * @example deriveSigningKey(secret, '20130524', 'us-east-1', 's3')
 */
export function deriveSigningKey(secretAccessKey: string, date: string, region: string, service: string): Buffer {
  derivations++;
  const kDate = hmac(`AWS4${secretAccessKey}`, date);
  const kRegion = hmac(kDate, region);
  const kService = hmac(kRegion, service);
  return hmac(kService, 'aws4_request');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** `20130524T000000Z` for a time in whole seconds since the epoch. */
export function amzDate(epochSeconds: number): string {
  const iso = new Date(epochSeconds * 1000).toISOString();
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
}

export function credentialScope(date: string, region: string, service: string): string {
  return `${date}/${region}/${service}/aws4_request`;
}
