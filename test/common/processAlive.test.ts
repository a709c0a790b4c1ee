import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import t from 'tap';
import { processAlive } from '../../src/common/processIdentity.js';

/**
 * A leader killed with -9 whose parent never reaps it stays a zombie: it runs nothing, and a
 * --restart must not wait out its lease for it.
 */
t.test('a zombie is not alive; a running process is; a pid with no process is not', async (t) => {
  // sh starts `head -c 1` and becomes `sleep 10`, which never reaps it. The child ends only once
  // the exec is done (it reads a byte this test writes then): ended before, sh itself might reap it.
  const parent = spawn('sh', ['-c', 'head -c 1 <&3 >/dev/null & echo $!; exec sleep 10 3<&-'], {
    stdio: ['ignore', 'pipe', 'ignore', 'pipe'],
  });
  t.teardown(() => void parent.kill('SIGKILL'));
  const zombie = await new Promise<number>((resolve) =>
    parent.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))),
  );
  for (let i = 0; i < 100 && readFileSync(`/proc/${parent.pid}/comm`, 'utf8').trim() !== 'sleep'; i++)
    await new Promise((r) => setTimeout(r, 50));
  (parent.stdio[3] as Writable).end('x');
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
