import t from 'tap';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../src/common/log.js';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { JobStore } from '../../src/jobstore/jobStore.js';
import { jobStoreFrameworkIds } from '../../src/main/batchSystems.js';
import { capturedLog } from '../fixtures/leaderFakes.js';
import { startBatch, startCluster, tempDir } from '../fixtures/mesosCluster.js';

// A restarted leader re-subscribes with the framework id its store keeps. A record that parsed
// but held no id of the right type failed every subscription (each retried after a back-off),
// so the run waited for a subscription that never came; it now subscribes as a new framework,
// warning that the old one's tasks, if any, run on, and keeps the new id in the store.
t.test(
  "a restarted leader whose store's Mesos framework record is damaged subscribes as a new framework, with a warning, and keeps its id",
  async (t) => {
    const cluster = await startCluster([{ resources: 'cpus:1;mem:512;disk:512' }]);
    t.teardown(() => cluster.stop());
    const dir = tempDir('toil-mesos-framework-record-');
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const objects = new FileObjectStore(join(dir, 'js'));
    const store = new JobStore(objects);
    await store.create();
    await objects.put('mesos-framework.json', JSON.stringify({ format: 1, frameworkId: 3 }));
    const { destination, lines } = capturedLog();
    const log = createLogger({ level: 'warn', destination });

    const tb = await startBatch(cluster.master.address, {
      frameworkIdStore: jobStoreFrameworkIds(store, cluster.master.address, log),
    });
    t.teardown(() => tb.batch.shutdown());
    t.ok(tb.scheduler.frameworkId, 'subscribed');
    t.equal(await store.readFrameworkId(), tb.scheduler.frameworkId, 'the new id kept in the store');
    t.same(
      lines.map((l) => l.msg),
      [
        "subscribing as a new Mesos framework: the tasks of the framework a previous leader of this workflow subscribed as, if any, run on until the master's failover timeout ends them: object mesos-framework.json does not hold a Mesos framework: frameworkId is 3, not a string",
      ],
      'one warning, naming the record and what is wrong',
    );
  },
);
