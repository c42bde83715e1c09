/**
 * The `dropgate dev` processes browser suites run against: the real CLI on the disk store, and
 * with `--storage s3` on Ceph RGW when it answers (skipped locally without it, a failure in CI:
 * `requireRgw`). Each with extra environment, e.g. a larger `DROPGATE_MAX_SIZE`.
 *
 * @example
 * const rgw = chromium.available ? await requireRgw() : undefined;
 * describe.each(devStacks(rgw, { DROPGATE_MAX_SIZE: '1GB' }))('on the $store store', ({ start }) => { … });
 */
import type { DevProcess } from './dev-process.js';
import { startDevProcess } from './dev-process.js';
import type { RgwEnv } from './rgw.js';
import { startS3DevProcess } from './s3-dev-process.js';

export interface DevStackChoice {
  store: string;
  start(): Promise<DevProcess>;
}

export function devStacks(rgw: RgwEnv | undefined, env: Record<string, string> = {}): DevStackChoice[] {
  return [
    { store: 'disk', start: () => startDevProcess({ env }) },
    ...(rgw ? [{ store: 's3 (Ceph RGW)', start: () => startS3DevProcess({ ...rgw, ...env }) }] : []),
  ];
}
