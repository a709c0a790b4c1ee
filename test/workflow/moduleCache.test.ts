import { existsSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { FileObjectStore } from '../../src/jobstore/fileObjectStore.js';
import { JobStore } from '../../src/jobstore/jobStore.js';
import { fetchWorkflowModule, MODULE_CACHE_MAX_AGE_MS } from '../../src/workflow/moduleLoader.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * The local cache of workflow modules (TOIL_WORKDIR/toil-ts-modules, the temp dir by default)
 * gained a file for every changed workflow any run of the machine ever ran, and never lost one.
 */
t.test(
  'caching a module removes those nobody used for a week, and a module in use is kept fresh',
  async (t) => {
    const dir = testDir(t, {});
    const cache = join(dir, 'toil-ts-modules');
    const store = new JobStore(new FileObjectStore(join(dir, 'js')));
    await store.create();
    const DAY = 24 * 3600_000;
    const now = Date.now();
    const inUse = await store.putModule(Buffer.from('export default 1;\n'), 'a.mjs');
    const inUsePath = await fetchWorkflowModule(store, inUse, cache, () => now - 30 * DAY);
    const ago = (ms: number): Date => new Date(now - ms);
    const old = join(cache, 'stale-100.mjs');
    const crashedWrite = join(cache, 'stale-100.mjs.1234.tmp');
    const recent = join(cache, 'recent-100.mjs');
    const other = join(cache, 'README');
    for (const f of [old, crashedWrite, recent, other]) writeFileSync(f, 'x');
    for (const f of [old, crashedWrite, other]) utimesSync(f, ago(8 * DAY), ago(8 * DAY));
    utimesSync(recent, ago(6 * DAY), ago(6 * DAY));
    utimesSync(inUsePath, ago(30 * DAY), ago(30 * DAY));

    t.equal(await fetchWorkflowModule(store, inUse, cache, () => now), inUsePath, 'a cached module is found');
    t.ok(now - statSync(inUsePath).mtimeMs < 1_000, 'and touched: in use, it is not stale');

    const next = await store.putModule(Buffer.from('export default 2;\n'), 'b.mjs');
    const nextPath = await fetchWorkflowModule(store, next, cache, () => now);
    t.ok(existsSync(nextPath), 'the new module is cached');
    t.notOk(
      existsSync(old),
      `a module untouched for 8 days is removed (limit ${MODULE_CACHE_MAX_AGE_MS / DAY} days)`,
    );
    t.notOk(existsSync(crashedWrite), "a crashed write's temp file is removed");
    t.ok(existsSync(recent), 'one used 6 days ago is kept');
    t.ok(existsSync(inUsePath), 'the one in use is kept');
    t.ok(existsSync(other), 'a file that is no module is not the cache’s to remove');
  },
);
