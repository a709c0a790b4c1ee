import { createHash, randomUUID } from 'node:crypto';
import { processAlive, thisProcess } from '../common/processIdentity.js';

/**
 * How a `file:` store names the temporary file a write fills before its rename: after the
 * process writing it, so that one its writer left (killed mid-write) can be told from one a live
 * writer (a worker, the leader) is filling now, and removed.
 *
 *     w-<machine>-<pid>-<uuid>
 *
 * `machine` is a hash of the host name, boot id and pid namespace (see ProcessIdentity): a pid
 * means a process only within those, and a name would be long with them spelt out. A process
 * that cannot tell its boot id or namespace names its temporaries `<uuid>` alone, as stores did
 * before writers were named; whether the writer of such a one is gone cannot be told.
 */
export function temporaryName(): string {
  const machine = thisMachine();
  return machine === undefined ? randomUUID() : `w-${machine}-${process.pid}-${randomUUID()}`;
}

/**
 * A writer of temporaries that cannot be told alive or gone (another machine, another container,
 * an unnamed temporary) is taken for gone when its file was last written this long ago, and
 * before the process judging it started: never one that is being written now.
 */
export const UNNAMED_WRITER_STALE_MS = 60 * 60_000;

/**
 * Whether temporary `name`, last written at `mtimeMs`, was left by a writer that is gone: its
 * process, on this machine, has exited (killed mid-write: a live writer's pid is always taken);
 * or, for one whose writer cannot be told, untouched for UNNAMED_WRITER_STALE_MS and since before
 * `startedAt` (this process's start). This process's own are never abandoned.
 */
export function abandonedTemporary(name: string, mtimeMs: number, now: number, startedAt: number): boolean {
  const m = NAMED_RE.exec(name);
  const machine = thisMachine();
  if (m && machine !== undefined && m[1] === machine) {
    const pid = Number(m[2]);
    return pid !== process.pid && !processAlive(pid);
  }
  return mtimeMs < startedAt && now - mtimeMs > UNNAMED_WRITER_STALE_MS;
}

const NAMED_RE = /^w-([0-9a-f]{16})-(\d+)-[0-9a-f-]{36}$/;

let machineTag: string | undefined | null = null;

/** This process's machine, pid table and boot as a 16-hex-digit tag; undefined where they cannot be told. */
function thisMachine(): string | undefined {
  if (machineTag !== null) return machineTag;
  const me = thisProcess();
  machineTag =
    me.bootId === undefined || me.pidNamespace === undefined
      ? undefined
      : createHash('sha256')
          .update(`${me.host}\n${me.bootId}\n${me.pidNamespace}`)
          .digest('hex')
          .slice(0, 16);
  return machineTag;
}
