/**
 * `dropgate dev --storage s3` as a user runs it against Ceph RGW: the real CLI on the S3_* env of
 * scripts/rgw.sh, on a fresh bucket of its own whose CORS rule `dropgate s3 cors --origin <dev
 * origin> --apply` writes (so no other suite's rule can replace it meanwhile). `stop()` removes the
 * bucket with everything in it.
 *
 * @example
 * const rgw = await requireRgw();
 * const dev = await startS3DevProcess(rgw!);
 * await page.goto(dev.url);
 * await dev.stop();
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CLI_PATH, type DevProcess, REPO_ROOT, startDevProcess } from './dev-process.js';
import { createTestBucket, type RgwEnv } from './rgw.js';

export async function startS3DevProcess(rgw: RgwEnv): Promise<DevProcess & { bucket: string }> {
  const { bucket, env, remove: removeBucket } = await createTestBucket(rgw);
  let dev: DevProcess;
  try {
    dev = await startDevProcess({ args: ['--storage', 's3'], env });
    await promisify(execFile)(process.execPath, [CLI_PATH, 's3', 'cors', '--origin', dev.url, '--apply'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
      timeout: 30_000,
    });
  } catch (error) {
    await removeBucket().catch(() => {});
    throw error;
  }
  const started = dev;
  return {
    ...started,
    bucket,
    async stop() {
      await started.stop();
      await removeBucket();
    },
  };
}
