/**
 * The attack stack of a scaled-out deployment: the s3 store on Ceph RGW and the ledger on
 * PostgreSQL, behind `gateway.handle`. Each stack gets a bucket of its own (so keys stay
 * `default/{uuid}.ext`, as on disk) and a fresh PostgreSQL schema; `close()` empties and removes
 * both. PUTs go to RGW over a real socket with node:http, which sends exactly the headers given
 * (fetch would fix up a lying Content-Length).
 *
 * `scratch()` on S3: `multipart` lists the bucket's unfinished multipart uploads, `temp` the objects
 * no pending or completed upload accounts for (bytes stored that nobody is charged for).
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { CreateBucketCommand, DeleteBucketCommand, ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createPostgresLedger } from '../../src/ledger/postgres.js';
import type { GatewayResponse } from '../../src/shared/http.js';
import type { S3Storage } from '../../src/storage/s3.js';
import { sendWithFetch } from '../../src/storage/storage.contract.js';
import { createHarness } from '../helpers/harness.js';
import { type RgwEnv, removePrefix, rgwStorage } from '../helpers/rgw.js';
import { createTestSchema, TEST_DATABASE_URL } from '../helpers/services.js';
import type { Refusal, StackFactory } from './stack.js';

// RGW's answer to each refusal: SigV4 binds length and type, and a signed If-None-Match refuses a second write.
const RGW_REFUSALS: Record<Refusal, { status: number; code: string }> = {
  'size-mismatch': { status: 403, code: 'SignatureDoesNotMatch' },
  'wrong-content-type': { status: 403, code: 'SignatureDoesNotMatch' },
  'token-used': { status: 412, code: 'PreconditionFailed' },
};

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

/**
 * A PUT with exactly these headers (a Content-Length may lie); `cutAfter` hangs up after that many
 * bytes, and the answer is then undefined.
 */
export function rawPut(
  url: string,
  headers: Record<string, string>,
  body: Uint8Array,
  cutAfter?: number,
): Promise<GatewayResponse | undefined> {
  const sent = Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')
    ? headers
    : { ...headers, 'content-length': String(body.length) };
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method: 'PUT', headers: sent, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers as Record<string, string>, body: text }));
    });
    request.on('error', (error: NodeJS.ErrnoException) => {
      if (cutAfter !== undefined) resolve(undefined);
      // RGW may answer a lying length and close before the rest of the body is written.
      else if (error.code === 'EPIPE' || error.code === 'ECONNRESET') resolve({ status: 0, headers: {}, body: error.code });
      else reject(error);
    });
    if (cutAfter === undefined) {
      request.end(body);
      return;
    }
    request.write(body.subarray(0, cutAfter), () => setTimeout(() => request.destroy(new Error('client hung up')), 50));
  });
}

/** The S3 (RGW) + PostgreSQL stack of the attacks, on the RGW of `env`. */
export function s3Stack(env: RgwEnv): StackFactory {
  return {
    name: 'S3 (Ceph RGW) + PostgreSQL',
    store: 's3',
    async create(overrides) {
      const bucket = `dropgate-attacks-${randomBytes(6).toString('hex')}`;
      const storage: S3Storage = rgwStorage({ ...env, S3_BUCKET: bucket });
      await storage.client.send(new CreateBucketCommand({ Bucket: bucket }));
      const schema = await createTestSchema();
      // The floods sign 1,000 at once on a pool of 10: on a loaded CI machine the queue outlasts the
      // default 10 s wait (503 LEDGER_UNAVAILABLE); what they test is the cap, so let them queue.
      const ledger = createPostgresLedger({ connectionString: TEST_DATABASE_URL, schema: schema.name, acquireTimeoutMillis: 60_000 });
      await ledger.migrate();
      const harness = await createHarness(overrides, { storage, ledger });

      async function scratch() {
        const uploads = await storage.client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
        const objects = await storage.client.send(new ListObjectsV2Command({ Bucket: bucket }));
        const temp: string[] = [];
        for (const { Key: key } of objects.Contents ?? []) {
          const id = key && UUID.exec(key)?.[0];
          const upload = id ? await ledger.getUpload(id) : undefined;
          if (key && !(upload && upload.key === key && (upload.status === 'pending' || upload.status === 'completed'))) temp.push(key);
        }
        return { temp, multipart: (uploads.Uploads ?? []).map((u) => String(u.Key)) };
      }

      return {
        ...harness,
        store: 's3',
        send: sendWithFetch,
        scratch,
        async put(signed, bytes, headers) {
          const answer = await rawPut(String(signed.presignedUrl), headers ?? signed.headers ?? {}, bytes);
          return answer ?? { status: 0, headers: {} };
        },
        async putCutOff(signed, bytes, cutAfter) {
          return (await rawPut(String(signed.presignedUrl), signed.headers ?? {}, bytes, cutAfter))?.status;
        },
        refusal: (reason) => RGW_REFUSALS[reason],
        async close() {
          await harness.close();
          await removePrefix(storage, '');
          await storage.client.send(new DeleteBucketCommand({ Bucket: bucket }));
          await schema.drop();
        },
      };
    },
  };
}
