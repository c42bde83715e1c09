/**
 * The child processes a bench starts (servers, load generators, uploaders), so that an interrupted
 * run (Ctrl-C, SIGTERM) leaves none of them behind, and one way to stop a server.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

const children = new Set();
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    for (const child of children) child.kill('SIGKILL');
    process.exit(130);
  });
}

/** Keeps `child` until it exits; returns it, for `const c = track(spawn(…))`. */
export function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** SIGTERM, then SIGKILL if it has not exited after `graceMs`; resolves once it has exited. */
export async function stopChild(child, graceMs) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Runs a command to its end and resolves with its stdout; rejects with its stderr when it exits
 * non-zero, and kills it after `limitMs`.
 * @example const out = await exec('curl', ['-sS', url], { limitMs: 60_000 });
 */
export function exec(cmd, args, { env, limitMs = 600_000 } = {}) {
  return new Promise((resolve, reject) => {
    const proc = track(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } }));
    let out = '';
    let err = '';
    proc.stdout.setEncoding('utf8').on('data', (c) => (out += c));
    proc.stderr.setEncoding('utf8').on('data', (c) => (err += c));
    const kill = setTimeout(() => proc.kill('SIGKILL'), limitMs);
    proc.on('exit', (code) => {
      clearTimeout(kill);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} exited ${code}: ${err || out}`));
    });
  });
}

/**
 * A loopback port nothing listens on right now, from the OS. A fixed sequence collided with the
 * ephemeral ports of the bench's own outgoing connections (EADDRINUSE, load run 2 at 19:05).
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}
