/**
 * A throwaway certificate authority for TLS tests, made with the `openssl` command in a temp
 * folder at test time (node:crypto makes keys but not certificates): no key material is ever
 * committed, and nothing outside the test process and its children trusts it.
 *
 * @example
 * const ca = await createTestCa();
 * const { key, cert } = await ca.issue('IP:127.0.0.1');
 * spawn(process.execPath, [script], { env: { ...process.env, NODE_EXTRA_CA_CERTS: ca.caFile } });
 * await ca.remove();
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCa {
  /** The CA's certificate (PEM), for NODE_EXTRA_CA_CERTS. */
  caFile: string;
  /** A server certificate signed by the CA for one subjectAltName (`IP:127.0.0.1`, `DNS:storage.invalid`). */
  issue(subjectAltName: string): Promise<{ key: string; cert: string }>;
  remove(): Promise<void>;
}

// A config of our own, so the system's openssl.cnf adds no extensions of its own.
const CA_CONFIG = `[req]
distinguished_name = dn
prompt = no
[dn]
CN = dropgate test CA
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign
`;
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export async function createTestCa(): Promise<TestCa> {
  await run('openssl', ['version']).catch((cause: unknown) => {
    throw new Error('These TLS tests make their certificates with the `openssl` command, which is not on PATH.', { cause });
  });
  const dir = await mkdtemp(join(tmpdir(), 'dropgate-ca-'));
  const at = (name: string) => join(dir, name);
  await writeFile(at('ca.cnf'), CA_CONFIG);
  await run('openssl', [
    'req',
    '-x509',
    '-config',
    at('ca.cnf'),
    '-extensions',
    'ca',
    ...EC_KEY,
    '-keyout',
    at('ca.key'),
    '-out',
    at('ca.pem'),
    '-days',
    '2',
  ]);
  let serial = 1;
  return {
    caFile: at('ca.pem'),
    async issue(subjectAltName) {
      const name = `leaf-${++serial}`;
      await writeFile(at(`${name}.ext`), `subjectAltName = ${subjectAltName}\nextendedKeyUsage = serverAuth\n`);
      await run('openssl', ['req', '-new', ...EC_KEY, '-keyout', at(`${name}.key`), '-subj', '/CN=storage', '-out', at(`${name}.csr`)]);
      await run('openssl', [
        'x509',
        '-req',
        '-in',
        at(`${name}.csr`),
        '-CA',
        at('ca.pem'),
        '-CAkey',
        at('ca.key'),
        '-set_serial',
        String(serial),
        '-days',
        '2',
        '-extfile',
        at(`${name}.ext`),
        '-out',
        at(`${name}.pem`),
      ]);
      return { key: await readFile(at(`${name}.key`), 'utf8'), cert: await readFile(at(`${name}.pem`), 'utf8') };
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
