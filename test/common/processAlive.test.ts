import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { processAlive } from '../../src/common/processIdentity.js';

/**
 * A leader killed with -9 whose parent never reaps it stays a zombie: it runs nothing, and a
 * --restart must not wait out its lease for it.
 */
t.test('a zombie is not alive; a running process is; a pid with no process is not', async (t) => {
  // sh starts `sleep 0` and becomes `sleep 5`, which never reaps it: a zombie for 5 s.
  const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 5'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  t.teardown(() => void parent.kill('SIGKILL'));
  const zombie = await new Promise<number>((resolve) =>
    parent.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))),
  );
  let state = '';
  for (let i = 0; i < 50 && state !== 'Z'; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const stat = readFileSync(`/proc/${zombie}/stat`, 'utf8');
    state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  }
  t.equal(state, 'Z', 'the child is a zombie (the premise)');
  t.equal(processAlive(zombie), false, 'a zombie is not alive');
  t.equal(processAlive(parent.pid!), true, 'its parent, running, is');
  t.equal(processAlive(process.pid), true, 'this process is');
  parent.kill('SIGKILL');
  await new Promise((r) => parent.once('exit', r));
  t.equal(processAlive(zombie), false, 'gone once reaped');
});
