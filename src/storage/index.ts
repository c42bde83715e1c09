export { createDiskStorage, type DiskStorage, type DiskStorageOptions } from './disk.js';
export type { CleanupOptions, CleanupResult } from './disk-cleanup.js';
export { createS3Storage, type S3Credentials, type S3Storage, type S3StorageOptions, s3FromEnv } from './s3.js';
export { s3OptionsFromEnv } from './s3-options.js';
export * from './types.js';
