/**
 * The `dropgate dev` stack in-process on a free loopback port, in a fresh temp data folder.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EmbeddedStack, startEmbedded } from '../../src/cli/embedded.js';
import type { LogEntry, RouteConfig } from '../../src/server/config.js';

export interface DevStack {
  url: string;
  endpoint: string;
  dataDir: string;
  stack: EmbeddedStack;
  logs: LogEntry[];
  stop(): Promise<void>;
}

export async function startDevStack(options: { routes?: Record<string, RouteConfig> } = {}): Promise<DevStack> {
  const dataDir = await mkdtemp(join(tmpdir(), 'dropgate-test-'));
  const logs: LogEntry[] = [];
  const stack = await startEmbedded({
    dataDir,
    port: 0,
    ...(options.routes ? { routes: options.routes } : {}),
    log: (entry) => logs.push(entry),
  });
  return {
    url: stack.url,
    endpoint: `${stack.url}/api/upload`,
    dataDir,
    stack,
    logs,
    async stop() {
      await stack.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
