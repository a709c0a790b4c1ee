import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * A process as recorded by whoever may later need to know whether it is gone (a job store's
 * lease holder, the owner of a directory): enough to compare its pid with this machine's
 * processes only when the pid means the same process table.
 */
export interface ProcessIdentity {
  readonly host: string;
  readonly pid: number;
  /** Linux: /proc/sys/kernel/random/boot_id, so a pid is only compared within one boot. */
  readonly bootId?: string;
  /** Linux: /proc/self/ns/pid, so a pid is only compared within one pid namespace (container). */
  readonly pidNamespace?: string;
}

/** This process. */
export function thisProcess(): ProcessIdentity {
  return {
    host: hostname(),
    pid: process.pid,
    ...optional('bootId', () => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()),
    ...optional('pidNamespace', () => readlinkSync('/proc/self/ns/pid')),
  };
}

function optional<K extends string>(key: K, read: () => string): Partial<Record<K, string>> {
  try {
    return { [key]: read() } as Record<K, string>;
  } catch {
    return {}; // not Linux: no boot id or pid namespace, so nothing is ever proved gone
  }
}

/**
 * Whether a process of this machine (and pid namespace) is alive; EPERM means it is (not ours).
 * A zombie is not: it ran its last instruction and holds nothing but its pid until its parent
 * reaps it, which a parent that never reaps (a container's init that is not one) never does, so
 * a leader killed with -9 there would hold its job store until its lease expired.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM' && !isZombie(pid);
  }
  return !isZombie(pid);
}

/** Linux: the process's state in /proc/PID/stat is Z; anywhere else, never known to be. */
function isZombie(pid: number): boolean {
  return procStat(pid)?.[0] === 'Z';
}

/**
 * Linux: the fields of /proc/PID/stat after the process's name, from its state on (state, ppid,
 * pgrp, …); undefined where there is no such file (not Linux, or the process is gone).
 */
export function procStat(pid: number | 'self'): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The name (in parentheses) may hold spaces and parentheses: the fields follow the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/**
 * Whether `other` is provably dead: it ran on this very machine since its last boot (same host
 * name, boot id and pid namespace, so its pid means the same process table as ours) and no
 * process has its pid now. Anything less (another machine, another container, a platform without
 * boot ids) proves nothing. A reused pid only makes it look alive: the safe error.
 */
export function provablyGone(
  other: ProcessIdentity,
  me: ProcessIdentity,
  isAlive: (pid: number) => boolean = processAlive,
): boolean {
  if (other.bootId === undefined || other.pidNamespace === undefined) return false;
  if (other.host !== me.host || other.bootId !== me.bootId || other.pidNamespace !== me.pidNamespace) {
    return false;
  }
  return other.pid !== me.pid && !isAlive(other.pid);
}
