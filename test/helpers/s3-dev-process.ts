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
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { CreateBucketCommand, DeleteBucketCommand } from '@aws-sdk/client-s3';
import { CLI_PATH, type DevProcess, REPO_ROOT, startDevProcess } from './dev-process.js';
import { type RgwEnv, removePrefix, rgwStorage } from './rgw.js';

export async function startS3DevProcess(rgw: RgwEnv): Promise<DevProcess & { bucket: string }> {
  const bucket = `dropgate-dev-${randomBytes(6).toString('hex')}`;
  const env = { ...rgw, S3_BUCKET: bucket };
  const storage = rgwStorage(env);
  await storage.client.send(new CreateBucketCommand({ Bucket: bucket }));
  const removeBucket = async () => {
    await removePrefix(storage, '');
    await storage.client.send(new DeleteBucketCommand({ Bucket: bucket }));
  };
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
