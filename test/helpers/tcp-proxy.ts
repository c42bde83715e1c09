/**
 * A loopback TCP proxy in front of a shared server (PostgreSQL, Redis), so a test can make that
 * server look down or hung for one client without touching the server others use.
 *
 * @example
 * const proxy = await startTcpProxy(5432);
 * await proxy.set('down');   // new connections refused, open ones cut
 * await proxy.set('up');     // same port again: clients reconnect by themselves
 * await proxy.close();
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

/**
 * `up` forwards; `down` refuses new connections and cuts open ones; `blackhole` is a hung server:
 * open connections stay open but carry nothing more, new ones are accepted and never answered.
 */
export type ProxyMode = 'up' | 'down' | 'blackhole';

export interface TcpProxy {
  readonly port: number;
  readonly mode: ProxyMode;
  /** Connections accepted since start (each client connection counts once). */
  readonly accepted: number;
  set(mode: ProxyMode): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let mode: ProxyMode = 'up';
  let accepted = 0;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server: Server = createServer((client) => {
    accepted += 1;
    track(client);
    if (mode !== 'up') return; // blackhole: hold the socket, say nothing
    const upstream = tcpConnect(targetPort, targetHost);
    track(upstream);
    // Not pipe(): in blackhole mode bytes are dropped on the floor, as a hung server would.
    client.on('data', (chunk) => mode === 'up' && upstream.write(chunk));
    upstream.on('data', (chunk) => mode === 'up' && client.write(chunk));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.address() as { port: number }).port);
      });
    });
  const port = await listen(0);
  const cutAll = () => {
    for (const socket of sockets) socket.destroy();
  };

  return {
    port,
    get mode() {
      return mode;
    },
    get accepted() {
      return accepted;
    },
    async set(next) {
      if (next === mode) return;
      const wasListening = mode !== 'down';
      // Entering blackhole keeps connections (stalled); any other change cuts them, since a
      // stalled connection has lost bytes and could not be resumed anyway.
      if (next !== 'blackhole') cutAll();
      mode = next;
      if (next === 'down') {
        if (wasListening) await new Promise<void>((resolve) => server.close(() => resolve()));
      } else if (!wasListening) {
        await listen(port);
      }
    },
    async close() {
      mode = 'down';
      cutAll();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
