/** `npm run bench -- <presign|endpoint|datapath|memory|load|reserve|control|md5|md5-browser> [--runs N] [...]`: one comparison per subcommand. */
import { parseFlags } from './stats.mjs';

const [name, ...rest] = process.argv.slice(2);
const subcommands = {
  presign: { file: './presign.mjs', defaults: { runs: 5, ms: 2000 } },
  endpoint: {
    file: './endpoint.mjs',
    defaults: { runs: 5, duration: 15, warmup: 2, connections: 50, users: 50, only: '', baseline: '', prof: '' },
  },
  datapath: {
    file: './datapath.mjs',
    defaults: { runs: 5, size: 1_073_741_824, targets: 'disk,rgw', contenders: 'client,nohash,single,curl', baseline: '', prof: '' },
  },
  memory: { file: './memory.mjs', defaults: { runs: 5, size: 2_000_000_000 } },
  load: {
    file: './load.mjs',
    defaults: { runs: 5, clients: 8, total: 2_147_483_648, ledgers: 'pg,pglite', warm: 1, settle: 10, prof: '' },
  },
  reserve: { file: './reserve.mjs', defaults: { runs: 5, count: 2000, users: 50, concurrency: 50, batch: '4,16,50' } },
  control: { file: './control.mjs', defaults: { runs: 5, calls: 200 } },
  md5: { file: './md5.mjs', defaults: { runs: 5, size: 1_073_741_824, part: 16_777_216 } },
  'md5-browser': { file: './md5-browser.mjs', defaults: { runs: 5, size: 268_435_456, part: 16_777_216 } },
};
const sub = subcommands[name];
if (!sub) {
  console.error(`Usage: npm run bench -- <${Object.keys(subcommands).join('|')}> [--runs N] [--duration S]`);
  process.exit(2);
}
const mod = await import(sub.file);
await mod.run(parseFlags(rest, sub.defaults));
