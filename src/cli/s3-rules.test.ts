import { describe, expect, it } from 'vitest';
import { corsRule, exactOrigin, iamPolicy, lifecycleRule, mergeRules } from './s3-rules.js';

describe('bucket rules', () => {
  it('CORS: exact origins, PUT/GET/HEAD, only the signed headers, ETag exposed', () => {
    expect(corsRule(['https://app.example', 'https://app.example/', 'http://localhost:3000'])).toEqual({
      ID: 'dropgate',
      AllowedOrigins: ['https://app.example', 'http://localhost:3000'],
      AllowedMethods: ['PUT', 'GET', 'HEAD'],
      AllowedHeaders: ['content-type', 'content-md5', 'if-none-match', 'x-amz-checksum-sha256'],
      ExposeHeaders: ['ETag'],
      MaxAgeSeconds: 3600,
    });
    expect(corsRule(['https://a.example'], { acl: 'public-read' }).AllowedHeaders).toContain('x-amz-acl');
  });

  it('refuses wildcards, paths and an empty origin list', () => {
    for (const bad of ['*', 'https://*.example', 'https://app.example/upload', 'app.example', 'ftp://x.example', 'https://a.example?x=1']) {
      expect(() => exactOrigin(bad), bad).toThrow(/exact origin/);
    }
    expect(() => corsRule([])).toThrow(/--origin/);
  });

  it('lifecycle: aborts unfinished multipart uploads after N days', () => {
    expect(lifecycleRule(2)).toEqual({
      ID: 'dropgate-abort-incomplete-multipart',
      Status: 'Enabled',
      Filter: { Prefix: '' },
      AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 },
    });
    expect(() => lifecycleRule(0)).toThrow(/--days/);
  });

  it('merging replaces only dropgate’s own rule', () => {
    const theirs = { ID: 'website', AllowedOrigins: ['https://w.example'] };
    const old = { ID: 'dropgate', AllowedOrigins: ['https://old.example'] };
    const ours = { ID: 'dropgate', AllowedOrigins: ['https://new.example'] };
    expect(mergeRules([theirs, old], ours)).toEqual([theirs, ours]);
    expect(mergeRules(undefined, ours)).toEqual([ours]);
  });

  it('IAM policy: object verbs on the bucket’s keys, ListBucket on the bucket, setup verbs only when asked', () => {
    const policy = iamPolicy('uploads', { prefix: 'videos/' }) as { Statement: { Action: string[]; Resource: string }[] };
    expect(policy.Statement).toEqual([
      expect.objectContaining({
        Action: [
          's3:PutObject',
          's3:GetObject',
          's3:GetObjectAcl',
          's3:DeleteObject',
          's3:AbortMultipartUpload',
          's3:ListMultipartUploadParts',
        ],
        Resource: 'arn:aws:s3:::uploads/videos/*',
      }),
      expect.objectContaining({ Action: ['s3:ListBucket'], Resource: 'arn:aws:s3:::uploads' }),
    ]);
    const setup = iamPolicy('uploads', { setup: true }) as { Statement: { Action: string[] }[] };
    expect(setup.Statement[2]?.Action).toContain('s3:PutBucketCORS');
  });
});
