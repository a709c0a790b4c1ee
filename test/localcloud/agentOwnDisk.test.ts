import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import t from 'tap';
import { startAgentProcess } from '../../src/localcloud/mesos/agentProcess.js';
import { testDir } from '../fixtures/testDir.js';

t.test(
  'an agent on a temp dir of its own removes it when its starter dies without stopping it',
  async (t) => {
    t.setTimeout(60_000);
    // The starter: a process that ends on its own, as a leader killed with kill -9 would.
    const starter = spawn('sleep', ['1'], { stdio: 'ignore' });
    const agent = startAgentProcess({
      // Nothing listens there: the agent keeps trying to reach its master until the starter is gone.
      master: '127.0.0.1:9',
      resources: 'cpus:1;mem:256;disk:100',
      port: 0,
      exitWith: starter.pid!,
      reconnectMs: 200,
    });
    t.teardown(() => agent.kill());
    t.ok(existsSync(agent.workDir), 'the agent has its disk while it runs');
    const code = await agent.exited;
    t.equal(code, 0, 'the agent stopped cleanly once its starter was gone');
    t.notOk(existsSync(agent.workDir), `and took its disk with it (${agent.workDir})`);
  },
);

t.test('a work dir the caller named is the caller’s: the agent keeps it', async (t) => {
  t.setTimeout(60_000);
  const dir = testDir(t, {});
  const starter = spawn('sleep', ['1'], { stdio: 'ignore' });
  const agent = startAgentProcess({
    master: '127.0.0.1:9',
    resources: 'cpus:1;mem:256;disk:100',
    port: 0,
    workDir: dir,
    exitWith: starter.pid!,
    reconnectMs: 200,
  });
  t.teardown(() => agent.kill());
  t.equal(await agent.exited, 0);
  t.ok(existsSync(dir), 'the named dir is still there');
});
