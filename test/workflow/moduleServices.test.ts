import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { bundleWorkflow } from '../../src/workflow/bundle.js';
import { loadWorkflowFile } from '../../src/workflow/moduleLoader.js';
import { repoPath } from '../fixtures/repoRoot.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * A loaded workflow module says which of its jobs run a service: the autoscaled run's check before
 * launching leaves those off spot under --defaultPreemptable, as the leader places them.
 */
t.test('a loaded module lists its service jobs apart from its other jobs', async (t) => {
  const dir = testDir(t, {});
  const path = join(dir, 'workflow.mjs');
  writeFileSync(path, await bundleWorkflow(repoPath('test/fixtures/workflowServiceRoom.ts')));
  const { jobs, services } = await loadWorkflowFile(path);
  t.same([...jobs.keys()].sort(), ['bigDb', 'host', 'spotDb', 'wide']);
  t.same([...services].sort(), ['bigDb', 'spotDb']);
});
