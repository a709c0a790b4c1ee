import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { Clock } from './clock.js';

/**
 * The environment variable that marks every process of a job attempt (and of a local cloud's
 * instance): a `:`-separated list of marks, one per scope the process belongs to, inherited by
 * everything the process starts. A process group holds only what did not leave it: a job's tool
 * that calls setsid (or is spawned `detached`) escapes the group kill, is reparented to init and
 * runs on after the run ends. It keeps its environment, though, so a sweep of the processes
 * carrying the attempt's mark finds it. Only a process that scrubs its environment escapes.
 */
export const PROCESS_MARKS_ENV = 'TOIL_PROCESS_MARKS';

/** A fresh mark: unique to one attempt (or instance), never reused. */
export function newProcessMark(): string {
  return randomUUID().replaceAll('-', '');
}

/** `env` with `mark` added to the marks it already carries (an enclosing scope's stay). */
export function withProcessMark(
  env: Readonly<Record<string, string | undefined>>,
  mark: string,
): Record<string, string | undefined> {
  const marks = env[PROCESS_MARKS_ENV];
  return { ...env, [PROCESS_MARKS_ENV]: marks ? `${marks}:${mark}` : mark };
}

/** One mark, or several looked for in the same pass over /proc. */
export type ProcessMarks = string | Iterable<string>;

function markSet(marks: ProcessMarks): ReadonlySet<string> {
  return new Set(typeof marks === 'string' ? [marks] : marks);
}

/**
 * The live processes that carry `marks` (any one of them), this process excepted; undefined
 * without /proc (not Linux). A process that ends while it is read, or that belongs to another
 * user, is skipped. A zombie's environment reads empty: it is not counted (it holds nothing but
 * its pid). Each process's environment is read once however many marks are looked for: a pass
 * per mark would cost a forced exit with hundreds of workers hundreds of passes.
 */
export function markedProcesses(marks: ProcessMarks, bornAfter?: number): number[] | undefined {
  const wanted = markSet(marks);
  if (wanted.size === 0) return [];
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return undefined;
  }
  const born = bornAfter === undefined ? undefined : bornSince(bornAfter);
  const found: number[] = [];
  let unsettled: number[] = [];
  for (const name of names) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) continue;
    if (born && !born(pid)) continue;
    const carries = readMark(pid, wanted, false);
    if (carries === 'yes') found.push(pid);
    else if (carries === 'unsettled') unsettled.push(pid);
  }
  // A look a moment later settles a process that was between images: the sweep must not miss a
  // job's tool for exec'ing just as it looked.
  for (let waited = 0; unsettled.length > 0 && waited < EXEC_SETTLE_MS; waited++) {
    sleepSync(1);
    const still: number[] = [];
    for (const pid of unsettled) {
      const carries = readMark(pid, wanted, true);
      if (carries === 'yes') found.push(pid);
      else if (carries === 'unsettled') still.push(pid);
    }
    unsettled = still;
  }
  return found;
}

/**
 * How long a process caught in execve gets to show its new image's environment, ms (it takes
 * µs to a few ms). A process with an empty environment costs a sweep one ms; one that rewrote its
 * own environment block (as setproctitle does) reads unsettled throughout and costs it this long.
 */
const EXEC_SETTLE_MS = 25;

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
/** Blocks the thread for `ms`: killMarkedProcesses is synchronous (a dying machine's last act). */
function sleepSync(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

/**
 * Linux: the pid last given out in this pid namespace (the last field of /proc/loadavg);
 * undefined elsewhere. A mark set after it was read is carried only by processes with pids
 * given out since, which spares a sweep reading every other process's environment (~14 µs
 * each, a job's worth of time on a warm worker running short jobs).
 */
export function lastPid(): number | undefined {
  try {
    const n = Number(readFileSync('/proc/loadavg', 'latin1').trim().split(/\s+/).at(-1));
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a pid was given out after `after` and up to now (pids wrap at pid_max: the window
 * may wrap too). The caller trusts it only for a short while: past a full turn of the pid space
 * (32768 processes started on a busy machine) it would miss.
 */
function bornSince(after: number): ((pid: number) => boolean) | undefined {
  const last = lastPid();
  if (last === undefined) return undefined;
  return last >= after ? (pid) => pid > after && pid <= last : (pid) => pid > after || pid <= last;
}

function carriesMark(pid: number, marks: ReadonlySet<string>): boolean {
  return readMark(pid, marks, true) === 'yes';
}

/**
 * Whether `pid` carries one of `marks`, or 'unsettled' when what was read may not be its
 * environment. A process in execve reads empty from the moment it drops its old image until the
 * kernel has laid out the new one's environment (and, for an instant while it does, with the
 * image's bounds already telling of an empty one); a read begun before the drop stops short where
 * the old image went, and the mark, appended last, is in the part never read. An empty
 * environment is taken for one only when a second look (`lookedBefore`) a moment later still
 * finds it empty.
 */
function readMark(
  pid: number,
  marks: ReadonlySet<string>,
  lookedBefore: boolean,
): 'yes' | 'no' | 'unsettled' {
  let environ: string;
  try {
    environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
  } catch {
    return 'no'; // gone meanwhile, or not ours to read (so not ours to kill either)
  }
  const prefix = `${PROCESS_MARKS_ENV}=`;
  for (const entry of environ.split('\0')) {
    if (entry.startsWith(prefix)) {
      const carried = entry.slice(prefix.length).split(':');
      return carried.some((m) => marks.has(m)) ? 'yes' : 'no';
    }
  }
  const image = readImage(pid);
  if (!image || image.ended || image.kernelThread) return 'no';
  // Read whole from a laid-out image (latin1 keeps one character per byte).
  const whole = image.argEnd > 0 && image.envEnd - image.envStart === environ.length;
  return whole && (environ.length > 0 || lookedBefore) ? 'no' : 'unsettled';
}

/** The kernel's flag for a kernel thread, in /proc/PID/stat's ninth field. */
const PF_KTHREAD = 0x00200000;

interface ProcessImage {
  /** A zombie, or dead: it holds nothing but its pid. */
  readonly ended: boolean;
  readonly kernelThread: boolean;
  /** Where its arguments end, 0 until exec has laid out the image. */
  readonly argEnd: number;
  readonly envStart: number;
  readonly envEnd: number;
}

/** The fields of /proc/PID/stat a sweep needs (proc(5): state 3, flags 9, arg_end 49, env 50–51). */
function readImage(pid: number): ProcessImage | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // The command name, in parentheses, may hold spaces and parentheses: field 3 follows the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const field = (n: number): number => Number(fields[n - 3]);
  const state = fields[0];
  return {
    ended: state === 'Z' || state === 'X',
    kernelThread: (field(9) & PF_KTHREAD) !== 0,
    argEnd: field(49),
    envStart: field(50),
    envEnd: field(51),
  };
}

export interface SweepResult {
  /** The processes that carried the mark when the sweep began (each got SIGTERM). */
  readonly found: number;
  /** How many of them were still alive after the grace and got SIGKILL (new ones included). */
  readonly killed: number;
  /** False without /proc: nothing could be looked for. */
  readonly supported: boolean;
}

export interface SweepOptions {
  readonly clock: Clock;
  /** How long SIGTERM gets before SIGKILL; 0 for SIGKILL at once (a machine that dies). */
  readonly graceMs: number;
  /** `lastPid()` read before the mark was set: only processes born since are looked at first. */
  readonly bornAfter?: number;
}

/** How long what a job left running gets between SIGTERM and SIGKILL. */
export const LEFT_PROCESS_GRACE_MS = 2_000;

/** How often a sweep looks whether the processes it told to stop have stopped. */
const SWEEP_POLL_MS = 50;
/** Rounds of SIGKILL: a process started by one being killed (in a fork loop) is caught next round. */
const KILL_ROUNDS = 5;

/**
 * Ends every process that carries `mark` (what a job attempt left running after its process group
 * was killed): SIGTERM, then SIGKILL to those still there after `graceMs`, and to any that one of
 * them started meanwhile. Never throws: a process that is gone or not ours is passed over.
 */
export async function endMarkedProcesses(mark: string, options: SweepOptions): Promise<SweepResult> {
  const first = markedProcesses(mark, options.bornAfter);
  if (first === undefined) return { found: 0, killed: 0, supported: false };
  if (first.length === 0) return { found: 0, killed: 0, supported: true };
  if (options.graceMs > 0) {
    signalAll(first, 'SIGTERM');
    const marks = markSet(mark);
    for (let waited = 0; waited < options.graceMs; waited += SWEEP_POLL_MS) {
      if (first.every((pid) => !carriesMark(pid, marks))) break;
      await options.clock.sleep(Math.min(SWEEP_POLL_MS, options.graceMs - waited));
    }
  }
  return { found: first.length, killed: killMarkedProcesses(mark).killed, supported: true };
}

/**
 * SIGKILL at once to every process that carries one of `marks` (a machine that dies, a leader's
 * forced exit): no grace, one pass over /proc a round whatever the number of marks. `pids`: those
 * it killed, for a caller that waits for their end.
 */
export function killMarkedProcesses(marks: ProcessMarks): SweepResult & { readonly pids: readonly number[] } {
  const wanted = markSet(marks);
  // A process killed a moment ago may still read as marked while it dies: counted once.
  const killed = new Set<number>();
  let found: number | undefined;
  for (let round = 0; round < KILL_ROUNDS; round++) {
    const marked = markedProcesses(wanted);
    if (marked === undefined) return { found: 0, killed: 0, supported: false, pids: [] };
    found ??= marked.length;
    const left = marked.filter((pid) => !killed.has(pid));
    if (left.length === 0) break;
    signalAll(left, 'SIGKILL');
    for (const pid of left) killed.add(pid);
  }
  return { found: found ?? 0, killed: killed.size, supported: true, pids: [...killed] };
}

function signalAll(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // Gone since it was read, or not ours.
    }
  }
}

/**
 * The warning for code whose processes outlived it: names it (`job 'align'`, `start() of workflow
 * sort.ts`) and how many it left.
 */
export function leftProcessesWarning(who: string, swept: SweepResult): string {
  const n = swept.found;
  return (
    `${who} left ${n} process${n === 1 ? '' : 'es'} running after it ended ` +
    `(started detached or in a session of ${n === 1 ? 'its' : 'their'} own, out of its process group); ` +
    `ended ${n === 1 ? 'it' : 'them'}`
  );
}

/**
 * Ends what still carries `mark` once the code it marked has ended (SIGTERM, SIGKILL after
 * LEFT_PROCESS_GRACE_MS), and warns, naming `who` (`job 'align'`), when anything did; resolves to
 * how many processes it found.
 */
export async function endLeftProcesses(
  mark: string,
  who: string,
  clock: Clock,
  warn: (message: string) => void,
  bornAfter?: number,
): Promise<number> {
  const swept = await endMarkedProcesses(mark, {
    clock,
    graceMs: LEFT_PROCESS_GRACE_MS,
    ...(bornAfter === undefined ? {} : { bornAfter }),
  });
  if (swept.found > 0) warn(leftProcessesWarning(who, swept));
  return swept.found;
}
