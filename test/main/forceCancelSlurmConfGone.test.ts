import { join } from 'node:path';
import t from 'tap';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { JobStore } from '../../src/jobstore/jobStore.js';
import { cancelSlurmJobs } from '../../src/main/forceCancel.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * A workflow's Slurm record names the slurm.conf of a cluster that is gone (a local cloud's
 * controller, whose directory the next leader removes after a kill -9): Slurm's tools retry a
 * missing conf for a minute, so the cancel a resumed run (or `toil kill --force`, `toil clean`)
 * makes first waited out the tool's 30 s before it said anything.
 */
t.test(
  "a Slurm record naming a slurm.conf that is gone is said at once, not after squeue's 30 s",
  async (t) => {
    const dir = testDir(t, {});
    const store = new JobStore(new FileObjectStore(join(dir, 'js')));
    const conf = join(dir, 'toil-slurm-killed', 'slurm.conf');
    await store.create();
    await store.writeSlurmUse({ conf });
    const started = Date.now();
    const report = await cancelSlurmJobs(store);
    const ms = Date.now() - started;
    t.ok(ms < 3_000, `answered in ${ms} ms`);
    t.same(report, {
      batchSystem: 'slurm',
      ok: false,
      line: `toil: --force: could not list the workflow's Slurm jobs in the Slurm cluster of ${conf} (its slurm.conf ${conf} does not exist here): its jobs may still be queued or running`,
    });
  },
);
