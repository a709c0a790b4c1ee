import t from 'tap';
import fs from 'node:fs';
import { needsSlurm, startSlurmCluster } from '../fixtures/slurmCluster.js';
import { waitFor } from '../fixtures/waitFor.js';

// Sized for a busy two-core machine; a hang still fails, later.
t.setTimeout(120_000);

/** Every process under `root` (its children, theirs, …), with its state letter from /proc. */
function descendants(root: number): { pid: number; state: string; name: string }[] {
  const byParent = new Map<number, { pid: number; state: string; name: string }[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // pid (comm) state ppid …; comm may hold spaces and parentheses, so split after the last ')'.
    const close = stat.lastIndexOf(')');
    const [state, ppid] = stat.slice(close + 2).split(' ');
    const p = { pid: Number(entry), state: state!, name: stat.slice(stat.indexOf('(') + 1, close) };
    const siblings = byParent.get(Number(ppid)) ?? [];
    siblings.push(p);
    byParent.set(Number(ppid), siblings);
  }
  const out: { pid: number; state: string; name: string }[] = [];
  const walk = (pid: number): void => {
    for (const c of byParent.get(pid) ?? []) {
      out.push(c);
      walk(c.pid);
    }
  };
  walk(root);
  return out;
}

/**
 * slurmd leaves each job's slurmstepd to the PID 1 of its namespace to reap. A node whose PID 1
 * is slurmd itself reaps none: one zombie per job, each holding a PID of the machine's, until the
 * node stops, so a long-lived node of the local cloud runs the machine out of PIDs.
 */
t.test('a local Slurm node reaps the slurmstepd of every job it ran', { skip: needsSlurm() }, async (t) => {
  const cluster = await startSlurmCluster([{ features: ['ondemand'] }]);
  t.teardown(() => cluster.stop());
  const jobs = 6;
  const ids: number[] = [];
  for (let i = 0; i < jobs; i++)
    ids.push(await cluster.cli.submit(['--mem=10', '--output=/dev/null'], '#!/bin/sh\ntrue\n'));
  await waitFor(
    `the ${jobs} jobs to complete`,
    async () =>
      (await cluster.cli.jobs()).filter((j) => ids.includes(j.jobId) && j.state === 'COMPLETED').length ===
      jobs,
    60_000,
    200,
  );
  const zombies = () => descendants(cluster.nodes[0]!.pid).filter((p) => p.state === 'Z');
  // A job's last process may be reaped a moment after Slurm records it COMPLETED.
  await waitFor('the node to reap its jobs', () => zombies().length === 0, 5_000, 100).catch(() => undefined);
  t.same(
    zombies().map((p) => p.name),
    [],
    `no zombie under the node after ${jobs} jobs (${descendants(cluster.nodes[0]!.pid).length} processes there)`,
  );
  t.ok(
    descendants(cluster.nodes[0]!.pid).some((p) => p.name === 'slurmd' && p.state !== 'Z'),
    'slurmd still runs',
  );
});
