import { execFileSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { SlurmCli, SlurmCommandError } from '../../src/slurm/cli.js';
import { testDir } from '../fixtures/testDir.js';

t.test('what a failed Slurm command means: retry, settings to fix (one line), or a fault', async (t) => {
  const rows: [what: string, stderr: string, disposition: string][] = [
    ['controller away', 'sbatch: error: Unable to contact slurm controller (connect failure)', 'retry'],
    [
      'a partition it does not have',
      'sbatch: error: Batch job submission failed: Invalid partition name specified',
      'user',
    ],
    [
      'an account it does not have',
      'sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified',
      'user',
    ],
    [
      'a QOS it does not have',
      'sbatch: error: Batch job submission failed: Invalid qos specification',
      'user',
    ],
    [
      'a constraint no node meets',
      'sbatch: error: Batch job submission failed: Requested node configuration is not available',
      'user',
    ],
    [
      'a reply that timed out',
      'sbatch: error: Batch job submission failed: Socket timed out on send/recv operation',
      'retry',
    ],
    // sbatch's words while it retries EAGAIN itself (cut short by the command's timeout), and when
    // it gives up.
    [
      'Slurm temporarily unable to accept a job',
      'sbatch: error: Slurm temporarily unable to accept job, sleeping and retrying',
      'retry',
    ],
    [
      'sbatch gave up on a controller that kept refusing for now',
      'sbatch: error: Slurm temporarily unable to accept job, sleeping and retrying\nsbatch: error: Batch job submission failed: Resource temporarily unavailable',
      'retry',
    ],
    ['a full job queue', 'sbatch: error: Slurm job queue full, sleeping and retrying', 'retry'],
    [
      'a full job queue, sbatch given up',
      'sbatch: error: Batch job submission failed: Unable to create job record, try again',
      'retry',
    ],
    ['anything else', 'sbatch: error: Batch job submission failed: Invalid job array specification', 'fatal'],
  ];
  for (const [what, stderr, disposition] of rows)
    t.equal(new SlurmCommandError('sbatch --parsable', stderr, 1).disposition, disposition, what);
});

t.test(
  "a Slurm tool runs in a process group of its own, so a terminal's Ctrl-C to the leader does not kill it mid-call",
  async (t) => {
    // The terminal signals the foreground process group: a tool in the leader's group died with
    // it, mid-call (an sbatch cut short may have queued a job whose id never came back).
    const bin = testDir(t, {});
    const squeue = join(bin, 'squeue');
    writeFileSync(squeue, '#!/bin/sh\nps -o pgid= -p $$\n');
    chmodSync(squeue, 0o755);
    const out = await new SlurmCli({ binDir: bin }).run('squeue', []);
    const toolGroup = Number(out.trim());
    const ownGroup = Number(
      execFileSync('ps', ['-o', 'pgid=', '-p', String(process.pid)], { encoding: 'utf8' }).trim(),
    );
    t.ok(toolGroup > 0 && ownGroup > 0, `both groups read (${toolGroup}, ${ownGroup})`);
    t.not(toolGroup, ownGroup, "the tool's process group is not the leader's");
  },
);
