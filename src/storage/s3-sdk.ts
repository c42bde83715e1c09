/**
 * An AWS SDK client for the same store, for what the gateway itself never calls: bucket setup by
 * the CLI (`dropgate s3 cors`, `doctor`) and tests. The gateway's own calls go through s3-http.ts.
 */
import { S3Client } from '@aws-sdk/client-s3';
import type { ResolvedS3Options } from './s3-options.js';

/**
 * The SDK client for a store's options. Checksums only WHEN_REQUIRED: the SDK's default since
 * 3.729 adds CRC32 checksums that S3-compatible stores such as Ceph RGW 16 and older MinIO reject.
 * @example
 * const client = createS3Client(resolveS3Options({ bucket, region, credentials }));
 */
export function createS3Client(options: ResolvedS3Options): S3Client {
  const { credentials } = options;
  return new S3Client({
    region: options.region,
    ...(options.endpoint && { endpoint: options.endpoint.origin }),
    forcePathStyle: options.forcePathStyle,
    credentials: {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      ...(credentials.sessionToken && { sessionToken: credentials.sessionToken }),
      ...(credentials.expiration && { expiration: credentials.expiration }),
    },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: options.maxAttempts,
    retryMode: 'standard',
    requestHandler: { connectionTimeout: Math.min(5_000, options.requestTimeoutMs), requestTimeout: options.requestTimeoutMs },
  });
}
