export { createDiskStorage, type DiskStorage, type DiskStorageOptions } from './disk.js';
export type { CleanupOptions, CleanupResult } from './disk-cleanup.js';
export * from './types.js';
