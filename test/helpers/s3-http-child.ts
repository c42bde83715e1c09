/**
 * Child process of the s3-http TLS tests: sends S3 requests with one s3-http runner and prints the
 * outcomes as one JSON line. A child, because the CA a test makes can be trusted only from a
 * process's start (NODE_EXTRA_CA_CERTS) and dropgate has no option to trust one, by design.
 *
 * Usage: node s3-http-child.mjs '{"bucketUrl":…,"maxAttempts":…,"requests":[…]}'
 */
import { createS3Http, type S3Request, utf8 } from '../../src/storage/s3-http.js';

export interface ChildJob {
  bucketUrl: string;
  maxAttempts: number;
  requests: S3Request[];
}

export type ChildOutcome = { status: number; body: string } | { error: { name: string; code: unknown; message: string } };

const job = JSON.parse(process.argv[2] ?? '{}') as ChildJob;
const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' };
const http = createS3Http({ credentials, region: 'us-east-1', maxAttempts: job.maxAttempts, requestTimeoutMs: 10_000 }, job.bucketUrl);
const outcomes: ChildOutcome[] = [];
// One after the other, so a second request can reuse the first one's connection.
for (const request of job.requests) {
  outcomes.push(
    await http.send(request).then(
      (response) => ({ status: response.status, body: utf8(response.body) }),
      (e: Error & { code?: unknown }) => ({ error: { name: e.name, code: e.code, message: e.message } }),
    ),
  );
}
process.stdout.write(`${JSON.stringify(outcomes)}\n`);
