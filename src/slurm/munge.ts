/**
 * munged as a private daemon of the appliance: the cluster's key written where only root reads
 * it, munged in the foreground beside the Slurm daemon that needs it. Every node of a cluster
 * runs one with the same key; that shared key is what makes slurmctld and slurmd trust each other.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ToilError } from '../common/errors.js';

/** munge's smallest accepted key is 32 bytes; `mungekey` makes 1024. */
export const MUNGE_KEY_MIN_BYTES = 32;

export interface MungedOptions {
  /** Holds the key (mode 0700 dir, 0400 file), the pid and seed files. */
  readonly dir: string;
  /** The socket Slurm's daemons and tools reach munged on; its folder is made mode 0755. */
  readonly socket: string;
  readonly logFile: string;
}

export interface Munged {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
}

/** Writes the key, starts `munged -F`, resolves once its socket exists (10 s at most). */
export async function startMunged(key: Buffer, o: MungedOptions): Promise<Munged> {
  if (key.length < MUNGE_KEY_MIN_BYTES)
    throw new ToilError(
      'MUNGE_KEY_INVALID',
      `the munge key has ${key.length} bytes, fewer than ${MUNGE_KEY_MIN_BYTES}`,
    );
  fs.mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(o.dir, 0o700);
  const keyFile = path.join(o.dir, 'munge.key');
  fs.rmSync(keyFile, { force: true });
  fs.writeFileSync(keyFile, key, { mode: 0o400 });
  // munged refuses a socket folder others may write to; Slurm's tools must reach into it.
  fs.mkdirSync(path.dirname(o.socket), { recursive: true });
  fs.chmodSync(path.dirname(o.socket), 0o755);
  fs.mkdirSync(path.dirname(o.logFile), { recursive: true });
  const child = spawn(
    'munged',
    [
      '-F',
      `--key-file=${keyFile}`,
      `--socket=${o.socket}`,
      `--pid-file=${path.join(o.dir, 'munged.pid')}`,
      `--seed-file=${path.join(o.dir, 'munged.seed')}`,
      `--log-file=${o.logFile}`,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let dead = false;
  void exited.then(() => (dead = true));
  for (let waited = 0; !fs.existsSync(o.socket); waited += 50) {
    if (dead || waited > 10_000) {
      child.kill('SIGKILL');
      throw new ToilError('MUNGED_FAILED', `munged did not open ${o.socket} (see ${o.logFile})`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, exited };
}
