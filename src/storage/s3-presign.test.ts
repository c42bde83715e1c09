/**
 * What the s3 store signs into its URLs, and its options — no network. That RGW honours these
 * signatures is s3.test.ts's and test/s3-refusals.test.ts's job.
 */
import { describe, expect, it } from 'vitest';
import { createS3Storage, type S3StorageOptions } from './s3.js';
import { s3OptionsFromEnv } from './s3-options.js';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const NOW = new Date('2026-11-24T12:00:00Z');
const store = (extra: Partial<S3StorageOptions> = {}) =>
  createS3Storage({ bucket: 'uploads', region: 'eu-west-1', credentials, now: () => NOW, ...extra });
const params = (url: string) => Object.fromEntries(new URL(url).searchParams);
const md5 = '1B2M2Y8AsgTpgAmY7PhCfg==';
const sha256 = '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=';

describe('s3 store presigning', () => {
  it('signs method, key, exact length and type; sends only the type; nothing else by default', () => {
    const put = store().presignPut({ key: 'videos/a b.mp4', size: 1234, contentType: 'video/mp4', expiresIn: 600 });
    expect(put.method).toBe('PUT');
    expect(put.url.startsWith('https://uploads.s3.eu-west-1.amazonaws.com/videos/a%20b.mp4?')).toBe(true);
    expect(put.headers).toEqual({ 'content-type': 'video/mp4' });
    const q = params(put.url);
    expect(q['X-Amz-SignedHeaders']).toBe('content-length;content-type;host');
    expect(q['X-Amz-Expires']).toBe('600');
    expect(put.expiresAt).toEqual(new Date(NOW.getTime() + 600_000));
    // No empty-body checksum (the SDK's default that breaks real uploads) and no ACL.
    expect(put.url).not.toMatch(/x-amz-checksum|x-amz-sdk-checksum|x-amz-acl/i);
  });

  it('binds a given MD5 as Content-MD5 and a SHA-256 as a header the client sends', () => {
    const withMd5 = store().presignPut({
      key: 'a.mp4',
      size: 0,
      contentType: 'video/mp4',
      expiresIn: 60,
      checksum: { algorithm: 'md5', value: md5 },
    });
    expect(withMd5.headers).toEqual({ 'content-type': 'video/mp4', 'content-md5': md5 });
    expect(params(withMd5.url)['X-Amz-SignedHeaders']).toBe('content-length;content-md5;content-type;host');
    const withSha = store().presignPut({
      key: 'a.mp4',
      size: 0,
      contentType: 'video/mp4',
      expiresIn: 60,
      checksum: { algorithm: 'sha256', value: sha256 },
    });
    expect(withSha.headers['x-amz-checksum-sha256']).toBe(sha256);
    expect(params(withSha.url)['X-Amz-SignedHeaders']).toBe('content-length;content-type;host;x-amz-checksum-sha256');
  });

  it('signs If-None-Match: * only when asked and the store can', () => {
    const target = { key: 'a.mp4', size: 1, contentType: 'video/mp4', expiresIn: 60 };
    expect(store().presignPut(target).headers['if-none-match']).toBeUndefined();
    expect(store().presignPut({ ...target, ifNoneMatch: true }).headers['if-none-match']).toBe('*');
    const cannot = store({ conditionalWrite: false });
    expect(cannot.capabilities.conditionalWrite).toBe(false);
    expect(cannot.presignPut({ ...target, ifNoneMatch: true }).headers['if-none-match']).toBeUndefined();
  });

  it('signs an ACL only when configured, as a header (RGW ignores it in the query)', () => {
    const put = store({ acl: 'public-read' }).presignPut({ key: 'a.mp4', size: 1, contentType: 'video/mp4', expiresIn: 60 });
    expect(params(put.url)['X-Amz-SignedHeaders']).toBe('content-length;content-type;host;x-amz-acl');
    expect(put.headers).toEqual({ 'content-type': 'video/mp4', 'x-amz-acl': 'public-read' });
  });

  it('binds a part URL to its number, upload id and exact length', () => {
    const part = store().presignPart({ key: 'a.mp4', multipartId: 'up/1+2', partNumber: 7, size: 5 * 1024 * 1024, md5, expiresIn: 60 });
    expect(params(part.url)).toMatchObject({
      partNumber: '7',
      uploadId: 'up/1+2',
      'X-Amz-SignedHeaders': 'content-length;content-md5;host',
    });
    expect(part.headers).toEqual({ 'content-md5': md5 });
    expect(() => store().presignPart({ key: 'a.mp4', multipartId: 'x', partNumber: 10_001, size: 1, expiresIn: 60 })).toThrow(
      /Part numbers/,
    );
  });

  it('serves reads with the display name as an RFC 6266 Content-Disposition', () => {
    const get = store().presignGet('a.mp4', { expiresIn: 60, fileName: 'Été.mp4' });
    expect(params(get.url)['response-content-disposition']).toBe(`inline; filename="_t_.mp4"; filename*=UTF-8''%C3%89t%C3%A9.mp4`);
    expect(get.headers).toEqual({});
  });

  it('caps the URL lifetime at the credentials’ remaining life, and signs nothing once they expired', () => {
    const soon = store({ credentials: { ...credentials, sessionToken: 'token', expiration: new Date(NOW.getTime() + 120_000) } });
    const put = soon.presignPut({ key: 'a.mp4', size: 1, contentType: 'video/mp4', expiresIn: 600 });
    expect(params(put.url)).toMatchObject({ 'X-Amz-Expires': '120', 'X-Amz-Security-Token': 'token' });
    expect(put.expiresAt).toEqual(new Date(NOW.getTime() + 120_000));
    const gone = store({ credentials: { ...credentials, expiration: new Date(NOW.getTime() - 1) } });
    expect(() => gone.presignGet('a.mp4', { expiresIn: 60 })).toThrow(expect.objectContaining({ code: 'STORAGE_UNAVAILABLE' }));
  });

  it('refuses lifetimes past 7 days, unusable keys and types', () => {
    const s = store();
    expect(() => s.presignGet('a.mp4', { expiresIn: 7 * 86400 + 1 })).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST' }));
    for (const key of ['', 'a/../b', './a', 'a\nb', 'x'.repeat(1025)]) {
      expect(() => s.presignGet(key, { expiresIn: 60 }), JSON.stringify(key)).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST' }));
    }
    expect(() => s.presignPut({ key: 'a', size: 1, contentType: 'text/html\r\nx: y', expiresIn: 60 })).toThrow(/content type/);
    expect(() => s.presignPut({ key: 'a', size: 5 * 1024 ** 3 + 1, contentType: 'video/mp4', expiresIn: 60 })).toThrow(/Size/);
  });

  it('uses path-style URLs with an endpoint, and gives public URLs only under a public base', () => {
    const minio = store({ endpoint: 'http://127.0.0.1:9000' });
    expect(minio.bucketUrl).toBe('http://127.0.0.1:9000/uploads');
    expect(minio.presignGet('a.mp4', { expiresIn: 60 }).url.startsWith('http://127.0.0.1:9000/uploads/a.mp4?')).toBe(true);
    expect(store({ endpoint: 'https://acct.r2.cloudflarestorage.com', forcePathStyle: false }).bucketUrl).toBe(
      'https://uploads.acct.r2.cloudflarestorage.com',
    );
    expect(minio.publicUrl('a.mp4')).toBeUndefined();
    const cdn = store({ publicBaseUrl: 'https://cdn.example/files/' });
    expect(cdn.publicUrl('v/a b+ü.mp4')).toBe('https://cdn.example/files/v/a%20b%2B%C3%BC.mp4');
  });

  it('checks its options, naming the bad one', () => {
    expect(() => store({ bucket: 'Bad_Bucket' })).toThrow(/bucket/);
    expect(() => store({ endpoint: 'ftp://x' })).toThrow(/endpoint/);
    expect(() => store({ endpoint: 'http://x/bucket' })).toThrow(/no path/);
    expect(() => store({ bucket: 'a.b' })).toThrow(/forcePathStyle/);
    expect(() => store({ credentials: { accessKeyId: '', secretAccessKey: 'x' } })).toThrow(/credentials/);
    expect(() => store({ acl: 'public read' })).toThrow(/acl/);
  });
});

describe('s3OptionsFromEnv', () => {
  const env = { S3_BUCKET: 'uploads', AWS_ACCESS_KEY_ID: 'id', AWS_SECRET_ACCESS_KEY: 'secret' };

  it('reads the S3_* and AWS_* variables', () => {
    expect(
      s3OptionsFromEnv({
        ...env,
        S3_ENDPOINT: 'http://127.0.0.1:7480',
        S3_FORCE_PATH_STYLE: 'true',
        S3_PUBLIC_BASE_URL: 'https://cdn.example',
        AWS_SESSION_TOKEN: 'tok',
        S3_ACL: 'public-read',
        S3_CONDITIONAL_WRITE: 'false',
      }),
    ).toEqual({
      bucket: 'uploads',
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:7480',
      forcePathStyle: true,
      publicBaseUrl: 'https://cdn.example',
      acl: 'public-read',
      conditionalWrite: false,
      credentials: { accessKeyId: 'id', secretAccessKey: 'secret', sessionToken: 'tok' },
    });
    expect(s3OptionsFromEnv({ ...env, AWS_REGION: 'eu-west-1' }).region).toBe('eu-west-1');
  });

  it('names what is missing or malformed', () => {
    expect(() => s3OptionsFromEnv({ ...env, S3_BUCKET: '', S3_REGION: 'x' })).toThrow(/S3_BUCKET/);
    expect(() => s3OptionsFromEnv(env)).toThrow(/S3_REGION/);
    expect(() => s3OptionsFromEnv({ ...env, S3_REGION: 'x', AWS_SECRET_ACCESS_KEY: undefined })).toThrow(/AWS_SECRET_ACCESS_KEY/);
    expect(() => s3OptionsFromEnv({ ...env, S3_REGION: 'x', S3_FORCE_PATH_STYLE: 'maybe' })).toThrow(/S3_FORCE_PATH_STYLE/);
  });
});
