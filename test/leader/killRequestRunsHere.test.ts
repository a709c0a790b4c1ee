import t from 'tap';
import { localHolder } from '../../src/jobstore/lease.js';
import { spawn } from 'node:child_process';
import { isToilProcess, runsHere } from '../../src/leader/killRequest.js';

t.test('toil kill --force signals only a leader proved to run on this machine', async (t) => {
  const me = { id: 'me', host: 'node-a', pid: 10, bootId: 'boot-1', pidNamespace: 'pid:[1]' };
  t.ok(runsHere({ ...me, id: 'leader', pid: 20 }, me), 'same host, boot and pid namespace');
  t.notOk(runsHere({ ...me, host: 'node-b' }, me), 'another machine');
  t.notOk(runsHere({ ...me, bootId: 'boot-2' }, me), 'this host name before a reboot');
  t.notOk(runsHere({ ...me, pidNamespace: 'pid:[2]' }, me), 'another container');
  t.notOk(runsHere({ id: 'x', host: 'node-a', pid: 20 }, me), 'a holder without boot id proves nothing');
  t.ok(runsHere({ ...localHolder(), pid: 1 }), 'this process as the default for "here"');
});

t.test(
  "toil kill --force never signals a pid that is no toil process (a dead leader's reused pid)",
  async (t) => {
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    t.teardown(() => sleeper.kill('SIGKILL'));
    t.notOk(isToilProcess(sleeper.pid!), 'a live process that is not toil');
    t.notOk(isToilProcess(process.pid), 'the test runner is not toil either');
    t.notOk(isToilProcess(2 ** 22 + 12345), 'no such pid');
    const toil = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)', '/opt/x/bin/toil.js'], {
      stdio: 'ignore',
    });
    t.teardown(() => toil.kill('SIGKILL'));
    await new Promise((r) => setTimeout(r, 100));
    t.ok(isToilProcess(toil.pid!), 'a process running bin/toil.js');
  },
);
