/** A process's CPU time and peak RSS from /proc (Linux), read from outside the process. */
import { execSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export const TICK_MS = 1000 / Number(execSync('getconf CLK_TCK', { encoding: 'utf8' }).trim());

/**
 * CPU milliseconds the process has used so far (its own threads, not its children), to the
 * nanosecond: the sum of its threads' run time in /proc/<pid>/task/<tid>/schedstat. utime + stime
 * in /proc/<pid>/stat count 10 ms ticks, too coarse for a gateway that spends a few ms per upload.
 * A thread that has exited is no longer counted; Node's threads (libuv pool, V8) live as long as
 * the process. Falls back to the ticks where schedstat is missing.
 */
export function cpuMs(pid) {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    }
    if (Number.isFinite(ns) && ns > 0) return ns / 1e6;
  } catch (error) {
    if (error.code !== 'ENOENT' && error.code !== 'ESRCH') throw error;
  }
  return tickCpuMs(pid);
}

/**
 * CPU milliseconds so far on the main thread (the event loop) and on the process's other threads
 * (V8's concurrent compiler and GC helpers, libuv's pool; Node 20 names them all "node", so they
 * are told apart only from the main thread, whose id is the process's).
 */
export function cpuByThreadMs(pid) {
  const out = { main: 0, other: 0 };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      out[tid === String(pid) ? 'main' : 'other'] += ns / 1e6;
    } catch (error) {
      if (error.code !== 'ENOENT' && error.code !== 'ESRCH') throw error;
    }
  }
  return out;
}

/** User + system CPU milliseconds from /proc/<pid>/stat, in clock ticks. */
export function tickCpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name is in parentheses and may hold spaces: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS; // utime, stime: fields 14 and 15 of stat(5)
}

/** Peak and current resident set size in MB (VmHWM, VmRSS). */
export function memoryMB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { peak: (kb('VmHWM') * 1024) / 1e6, rss: (kb('VmRSS') * 1024) / 1e6 };
}
