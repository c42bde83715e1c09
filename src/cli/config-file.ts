/**
 * `dropgate.config.{js,mjs,json,ts}`: the routes (and, from JavaScript, hooks and an
 * `authenticate`) of `dropgate serve`. Found in the working directory or named by `--config`.
 */
import { access, readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Authenticate, RouteConfig } from '../server/config.js';
import type { Hooks } from '../server/hooks.js';

/**
 * What a config file may export (as its default export, or as named exports).
 * @example
 * // dropgate.config.mjs
 * export default {
 *   routes: { default: { maxSize: '2GiB', allowedTypes: ['video/*'] } },
 *   hooks: { onUploadComplete: async ({ upload }) => notify(upload.id) },
 * };
 */
export interface ServeConfig {
  routes?: Record<string, RouteConfig>;
  /** Path the API is mounted at. Default `/api/upload`. */
  basePath?: string;
  hooks?: Hooks;
  /** Your own auth, instead of the `DROPGATE_API_KEYS` / `DROPGATE_JWT_*` settings. */
  authenticate?: Authenticate;
}

/** A mistake in the operator's configuration: `dropgate serve` says what and exits with 2. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Looked for in this order; several of them at once is an error, not a silent pick. */
export const CONFIG_FILE_NAMES = ['dropgate.config.js', 'dropgate.config.mjs', 'dropgate.config.json', 'dropgate.config.ts'];
const KEYS = new Set(['routes', 'basePath', 'hooks', 'authenticate']);
const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/** The config file `--config` names, or the one in `cwd`, or undefined when there is none. */
export async function findConfigFile(given: string | undefined, cwd: string): Promise<string | undefined> {
  if (given !== undefined) {
    const path = resolve(cwd, given);
    if (!(await exists(path))) throw new ConfigError(`--config ${given}: no such file.`);
    return path;
  }
  const found: string[] = [];
  for (const name of CONFIG_FILE_NAMES) if (await exists(resolve(cwd, name))) found.push(name);
  if (found.length > 1) throw new ConfigError(`found ${found.join(' and ')}; keep one, or pick one with --config.`);
  return found[0] === undefined ? undefined : resolve(cwd, found[0]);
}

async function importModule(path: string): Promise<unknown> {
  try {
    const module = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
    return module.default !== undefined ? module.default : { ...module };
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (extname(path) === '.ts' && (code === 'ERR_UNKNOWN_FILE_EXTENSION' || code === 'ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING')) {
      throw new ConfigError(
        `${path}: this Node (${process.version}) cannot load TypeScript. Compile it to dropgate.config.mjs, or use Node 22.18+ (built-in type stripping).`,
      );
    }
    throw new ConfigError(`${path}: ${(error as Error).message}`);
  }
}

/** Checks the shape; the routes themselves are checked by `createDropgate`, which names the bad option. */
function checkConfig(path: string, value: unknown): ServeConfig {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(`${path}: must export an object.`);
  const config = value as Record<string, unknown>;
  const unknown = Object.keys(config).filter((key) => !KEYS.has(key));
  if (unknown.length > 0) throw new ConfigError(`${path}: unknown setting ${unknown.join(', ')} (known: ${[...KEYS].join(', ')}).`);
  const { routes, basePath, hooks, authenticate } = config;
  if (routes !== undefined && (routes === null || typeof routes !== 'object' || Array.isArray(routes))) {
    throw new ConfigError(`${path}: "routes" must be an object of routes by name.`);
  }
  if (basePath !== undefined && typeof basePath !== 'string') throw new ConfigError(`${path}: "basePath" must be a string.`);
  if (hooks !== undefined && (hooks === null || typeof hooks !== 'object')) throw new ConfigError(`${path}: "hooks" must be an object.`);
  if (authenticate !== undefined && typeof authenticate !== 'function')
    throw new ConfigError(`${path}: "authenticate" must be a function.`);
  return config as ServeConfig;
}

/**
 * Loads and checks a config file.
 * @example const config = await loadConfigFile('/srv/app/dropgate.config.json'); // { routes: {...} }
 */
export async function loadConfigFile(path: string): Promise<ServeConfig> {
  if (extname(path) === '.json') {
    let value: unknown;
    try {
      value = JSON.parse(await readFile(path, 'utf8'));
    } catch (error) {
      throw new ConfigError(`${path}: ${(error as Error).message}`);
    }
    return checkConfig(path, value);
  }
  if (!['.js', '.mjs', '.cjs', '.ts', '.mts'].includes(extname(path))) {
    throw new ConfigError(`${path}: use a .js, .mjs, .json or .ts config file.`);
  }
  return checkConfig(path, await importModule(path));
}
