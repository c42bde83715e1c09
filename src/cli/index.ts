/**
 * The `dropgate` command: dispatches to one module per subcommand.
 */
import { readFileSync } from 'node:fs';
import { DropgateError } from '../shared/errors.js';
import { runDev } from './dev.js';
import type { Io } from './io.js';
import { runServe } from './serve.js';
import { runUpload } from './upload.js';

const HELP = `Usage: dropgate <command> [options]

Commands:
  dev       start the gateway with embedded defaults and a demo page
  serve     run the gateway for production (auth required, health checks, JSON logs)
  upload    upload files to a dropgate endpoint
  s3        print or apply the bucket's CORS and lifecycle rules, print its IAM policy
  doctor    check the s3 store: credentials, bucket, clock, CORS, ACL, lifecycle

Run "dropgate <command> --help" for a command's options.`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: string[], io: Io = process): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'dev':
        return await runDev(rest, io);
      case 'serve':
        return await runServe(rest, io);
      case 'upload':
        return await runUpload(rest, io);
      // Imported when used: they load the AWS SDK, which other commands need not wait for.
      case 's3':
        return await (await import('./s3.js')).runS3(rest, io);
      case 'doctor':
        return await (await import('./doctor.js')).runDoctor(rest, io);
      case '--version':
      case '-v':
        io.stdout.write(`${version()}\n`);
        return 0;
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        io.stdout.write(`${HELP}\n`);
        return command === undefined ? 2 : 0;
      default:
        io.stderr.write(`dropgate: unknown command "${command}".\n\n${HELP}\n`);
        return 2;
    }
  } catch (error) {
    // parseArgs throws TypeErrors with a code for unknown or malformed flags.
    if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(`dropgate ${command}: ${(error as Error).message}\n`);
      return 2;
    }
    const message =
      error instanceof DropgateError ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
    io.stderr.write(`dropgate ${command}: ${message}\n`);
    return 1;
  }
}
