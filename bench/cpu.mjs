/**
 * Where the machine's CPU went during a measured run, from /proc (Linux): the server under test
 * and its children, the load generator (children of this process, counted once reaped), the
 * PostgreSQL and Redis servers, Ceph, and everything else (other users of the machine included).
 * On a machine whose cores are all busy, throughput is cores ÷ the CPU one request costs all of
 * them together; this says which process that CPU is spent in.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ (`getconf CLK_TCK`) is 100 on Linux.

function procStat(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { comm: s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')), ppid: Number(f[1]), ms: (Number(f[11]) + Number(f[12])) * TICK_MS };
  } catch {
    return undefined; // gone between readdir and read
  }
}

function machineMs() {
  const [, ...v] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  const idle = v[3] + v[4];
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: (total - idle) * TICK_MS, total: total * TICK_MS };
}

const GROUPS = [
  ['postgres', (comm) => comm === 'postgres'],
  ['redis', (comm) => comm.startsWith('redis-server')],
  ['ceph', (comm) => comm === 'radosgw' || comm.startsWith('ceph-')],
];

/** A snapshot to pass to `cpuSince` later; `serverPid`'s descendants count as the server. */
export function cpuSnapshot(serverPid) {
  const procs = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = procStat(name);
    if (st) procs.set(Number(name), st);
  }
  const self = readFileSync('/proc/self/stat', 'utf8');
  const f = self.slice(self.lastIndexOf(')') + 2).split(' ');
  return { serverPid, procs, reaped: (Number(f[13]) + Number(f[14])) * TICK_MS, machine: machineMs() };
}

/** CPU ms per group between two snapshots; processes that ended in between are not counted. */
export function cpuSince(start, end) {
  const inServer = (pid) => {
    for (let p = pid, hops = 0; p > 1 && hops < 20; hops++) {
      if (p === end.serverPid) return true;
      p = end.procs.get(p)?.ppid ?? 0;
    }
    return false;
  };
  const out = { server: 0, load: end.reaped - start.reaped, postgres: 0, redis: 0, ceph: 0 };
  for (const [pid, st] of end.procs) {
    const ms = st.ms - (start.procs.get(pid)?.comm === st.comm ? start.procs.get(pid).ms : 0);
    if (inServer(pid)) out.server += ms;
    else for (const [group, match] of GROUPS) if (match(st.comm)) out[group] += ms;
  }
  const busy = end.machine.busy - start.machine.busy;
  const named = Object.values(out).reduce((a, b) => a + b, 0);
  return { ...out, rest: Math.max(0, busy - named), machineBusy: busy / (end.machine.total - start.machine.total) };
}
