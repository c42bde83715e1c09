/**
 * A loopback port where a TCP connect never completes: the closest loopback gets to a store
 * behind a dead route. A worker thread listens with a backlog of 1 and then blocks its event loop,
 * so nothing ever accepts; the test fills the kernel's accept queue with connections it holds, and
 * from then on Linux drops every SYN to the port (the client stays in SYN_SENT, resending). A
 * plain server does not do: Node accepts as fast as connections come.
 *
 * @example
 * const stuck = await startStuckListener();
 * await fetch(`http://127.0.0.1:${stuck.port}/`); // never connects
 * await stuck.close();
 */
import { connect, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';

const LISTENER = `
const { parentPort, workerData } = require('node:worker_threads');
const server = require('node:net').createServer().listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  parentPort.postMessage(server.address().port);
  Atomics.wait(workerData, 0, 0);
  server.close();
});`;

/** How long a loopback connect may take before the queue counts as full: it takes microseconds. */
const PROBE_MS = 500;

export interface StuckListener {
  port: number;
  close(): Promise<void>;
}

function connects(socket: Socket): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), PROBE_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startStuckListener(): Promise<StuckListener> {
  const wake = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(LISTENER, { eval: true, workerData: wake });
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const held: Socket[] = [];
  const close = async () => {
    for (const socket of held) socket.destroy();
    Atomics.store(wake, 0, 1);
    Atomics.notify(wake, 0);
    await exited;
  };
  try {
    for (;;) {
      const socket = connect(port, '127.0.0.1').on('error', () => {});
      socket.unref();
      // Held even when it does not connect: should it still, it has taken the queue's last place.
      held.push(socket);
      if (!(await connects(socket))) break;
      if (held.length > 64) throw new Error(`port ${port} kept accepting connections: this kernel does not cap the accept queue`);
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { port, close };
}
