/**
 * `node bin/dropgate.js dev` as a child process that a test may kill -9 and start again on the
 * same port and data folder, which is what an operator's restart looks like to clients holding
 * URLs. (test/helpers/dev-process.ts only ever stops the server gracefully.)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { CLI_PATH, REPO_ROOT } from '../helpers/dev-process.js';

export interface DevChild {
  url: string;
  output(): string;
  /** SIGKILL: no handler runs, nothing is flushed or closed. */
  kill9(): Promise<void>;
  /** SIGTERM, waiting for the graceful shutdown. */
  stop(): Promise<void>;
}

function env(): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(DROPGATE_|S3_|AWS_)/.test(name) && !['PORT', 'DATABASE_URL', 'REDIS_URL'].includes(name)) out[name] = value;
  }
  return out;
}

export async function startDevChild(dataDir: string, port: number, timeoutMs = 30_000): Promise<DevChild> {
  const child: ChildProcess = spawn(process.execPath, [CLI_PATH, 'dev', '--port', String(port), '--data-dir', dataDir], {
    cwd: REPO_ROOT,
    env: env(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://localhost:${port}`;
  const signal = async (name: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(name);
    await exited;
  };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`dropgate dev exited with ${child.exitCode}:\n${output}`);
    const status = await fetch(`${url}/api/upload`, { signal: AbortSignal.timeout(5000) }).then(
      async (r) => {
        await r.arrayBuffer();
        return r.status;
      },
      () => 0,
    );
    if (status === 200) break;
    if (Date.now() > deadline) {
      await signal('SIGKILL');
      throw new Error(`dropgate dev did not become ready on ${url}:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { url, output: () => output, kill9: () => signal('SIGKILL'), stop: () => signal('SIGTERM') };
}
