/**
 * Options of the s3 store: validated once at construction, defaults in one place, and the one
 * reader of the S3_* / AWS_* environment variables.
 */
import { DropgateError } from '../shared/errors.js';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** For temporary (STS) credentials. */
  sessionToken?: string;
  /** When temporary credentials stop working; presigned URLs never outlive it. */
  expiration?: Date;
}

export interface S3StorageOptions {
  bucket: string;
  /** `us-east-1`, …; Cloudflare R2 takes `auto`. */
  region: string;
  /** An S3-compatible endpoint (R2, MinIO, Ceph RGW, …); default AWS S3 for `region`. */
  endpoint?: string;
  /** `{endpoint}/{bucket}/{key}` URLs instead of `{bucket}.{host}/{key}`. Default: true with `endpoint`, false on AWS. */
  forcePathStyle?: boolean;
  credentials: S3Credentials;
  /** Public base (bucket website, CDN) for permanent read URLs of public files: `{publicBaseUrl}/{key}`. */
  publicBaseUrl?: string;
  /**
   * A canned ACL signed into every upload (`public-read`, …). Leave unset: buckets created on AWS
   * since April 2023 have ACLs disabled (Object Ownership "bucket owner enforced") and refuse any
   * upload that carries one. Use a bucket policy or `publicBaseUrl` for public reads instead.
   */
  acl?: string;
  /**
   * The store honours a signed `If-None-Match: *` on PUT (refuses to replace an object). True for
   * AWS S3, R2, MinIO and Ceph RGW 16+; set false for a store that rejects the header. Default true.
   */
  conditionalWrite?: boolean;
  /** Attempts per control-plane call, retries with backoff on 5xx, SlowDown and network errors. Default 3. */
  maxAttempts?: number;
  /** Milliseconds a control-plane call may wait on the network. Default 30 s. */
  requestTimeoutMs?: number;
  /** The clock presigned URLs are dated by; tests move it. */
  now?: () => Date;
}

export interface ResolvedS3Options {
  bucket: string;
  region: string;
  endpoint: URL | undefined;
  forcePathStyle: boolean;
  credentials: S3Credentials;
  publicBaseUrl: string | undefined;
  acl: string | undefined;
  conditionalWrite: boolean;
  maxAttempts: number;
  requestTimeoutMs: number;
  now: () => Date;
}

function invalid(message: string, option: string): never {
  throw new DropgateError('INVALID_REQUEST', `s3 store: ${message}`, { option });
}

function httpUrl(value: string, option: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {}
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash || url.username) {
    invalid(`${option} must be an absolute http(s) URL without query or credentials, got ${JSON.stringify(value)}.`, option);
  }
  return url;
}

/** Checks options and fills in defaults; throws INVALID_REQUEST naming the bad option. */
export function resolveS3Options(options: S3StorageOptions): ResolvedS3Options {
  const { bucket, region, credentials } = options;
  // DNS-style bucket names (3–63 chars) keep virtual-hosted and path-style URLs both valid.
  if (typeof bucket !== 'string' || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    invalid(`bucket must be a bucket name (3–63 lowercase letters, digits, "." or "-"), got ${JSON.stringify(bucket)}.`, 'bucket');
  }
  if (typeof region !== 'string' || !/^[a-z0-9-]+$/.test(region))
    invalid(`region must look like "us-east-1", got ${JSON.stringify(region)}.`, 'region');
  if (!credentials?.accessKeyId || !credentials.secretAccessKey)
    invalid('credentials need accessKeyId and secretAccessKey.', 'credentials');
  const endpoint = options.endpoint === undefined ? undefined : httpUrl(options.endpoint, 'endpoint');
  if (endpoint && endpoint.pathname !== '/') invalid('endpoint must have no path; the bucket goes in `bucket`.', 'endpoint');
  const forcePathStyle = options.forcePathStyle ?? endpoint !== undefined;
  if (!forcePathStyle && bucket.includes('.') && (endpoint?.protocol ?? 'https:') === 'https:') {
    // `a.b.s3.amazonaws.com` does not match the wildcard certificate.
    invalid('a bucket name with "." needs forcePathStyle: true over https.', 'forcePathStyle');
  }
  const publicBaseUrl =
    options.publicBaseUrl === undefined ? undefined : httpUrl(options.publicBaseUrl, 'publicBaseUrl').href.replace(/\/+$/, '');
  if (options.acl !== undefined && !/^[a-z-]+$/.test(options.acl))
    invalid(`acl must be a canned ACL like "public-read", got ${JSON.stringify(options.acl)}.`, 'acl');
  const maxAttempts = options.maxAttempts ?? 3;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 10) invalid('maxAttempts must be 1..10.', 'maxAttempts');
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  if (!(requestTimeoutMs > 0)) invalid('requestTimeoutMs must be positive.', 'requestTimeoutMs');
  return {
    bucket,
    region,
    endpoint,
    forcePathStyle,
    credentials,
    publicBaseUrl,
    acl: options.acl,
    conditionalWrite: options.conditionalWrite ?? true,
    maxAttempts,
    requestTimeoutMs,
    now: options.now ?? (() => new Date()),
  };
}

const bool = (value: string | undefined, name: string): boolean | undefined => {
  if (value === undefined || value.trim() === '') return undefined;
  if (/^(1|true|yes|on)$/i.test(value.trim())) return true;
  if (/^(0|false|no|off)$/i.test(value.trim())) return false;
  return invalid(`${name} must be true or false, got ${JSON.stringify(value)}.`, name);
};

/**
 * Options from the environment: S3_BUCKET, S3_REGION (or AWS_REGION; default us-east-1 with an
 * endpoint), S3_ENDPOINT, S3_FORCE_PATH_STYLE, S3_PUBLIC_BASE_URL, S3_ACL, S3_CONDITIONAL_WRITE,
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN.
 * @example
 * const options = s3OptionsFromEnv(process.env); // throws naming the first missing variable
 */
export function s3OptionsFromEnv(env: Record<string, string | undefined>): S3StorageOptions {
  const get = (name: string) => (env[name]?.trim() ? env[name]?.trim() : undefined);
  const need = (name: string) => get(name) ?? invalid(`${name} is not set.`, name);
  const endpoint = get('S3_ENDPOINT');
  const region = get('S3_REGION') ?? get('AWS_REGION') ?? (endpoint ? 'us-east-1' : need('S3_REGION'));
  const sessionToken = get('AWS_SESSION_TOKEN');
  const options: S3StorageOptions = {
    bucket: need('S3_BUCKET'),
    region,
    credentials: {
      accessKeyId: need('AWS_ACCESS_KEY_ID'),
      secretAccessKey: need('AWS_SECRET_ACCESS_KEY'),
      ...(sessionToken && { sessionToken }),
    },
  };
  if (endpoint) options.endpoint = endpoint;
  const pathStyle = bool(get('S3_FORCE_PATH_STYLE'), 'S3_FORCE_PATH_STYLE');
  if (pathStyle !== undefined) options.forcePathStyle = pathStyle;
  const publicBaseUrl = get('S3_PUBLIC_BASE_URL');
  if (publicBaseUrl) options.publicBaseUrl = publicBaseUrl;
  const acl = get('S3_ACL');
  if (acl) options.acl = acl;
  const conditionalWrite = bool(get('S3_CONDITIONAL_WRITE'), 'S3_CONDITIONAL_WRITE');
  if (conditionalWrite !== undefined) options.conditionalWrite = conditionalWrite;
  return options;
}
