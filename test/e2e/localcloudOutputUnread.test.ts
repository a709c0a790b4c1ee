import { closeSync } from 'node:fs';
import t, { type Test } from 'tap';
import { sleep, startToilProcess } from '../fixtures/leaderE2e.js';
import { fillPipe, toilOnFifo } from '../fixtures/outputFifo.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * The local cloud's long-running processes (`toil localcloud`, `toil localcloud mesos`, `ec2`,
 * `agent`) with their stdout and stderr on a pipe whose reader stopped reading, or is gone, while
 * they log: one SIGTERM still stops each within a few seconds, and a broken pipe does not stop
 * one before that.
 */
t.setTimeout(180_000);
// Each case has its own directory and processes: they run side by side.
t.jobs = 3;

/** Requests the EC2 endpoint refuses, each logged at debug; no answer awaited (a blocked process gives none). */
function refusedRequests(output: string): void {
  const url = /EC2 endpoint: (http:\/\/[0-9.:]+)/.exec(output)![1]!;
  for (let i = 0; i < 20; i++)
    void fetch(`${url}/`, {
      method: 'POST',
      body: 'Action=TerminateInstances&Version=2016-11-15&InstanceId.1=i-0bogus',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      signal: AbortSignal.timeout(3000),
    }).catch(() => undefined);
}

const agentArgs = (master: string): string[] => [
  'localcloud',
  'agent',
  '--master',
  master,
  '--resources',
  'cpus:1;mem:512;disk:100',
  '--reconnect',
  '100ms',
];

/** An agent that registers with the master and leaves: the master logs both. */
async function agentComesAndGoes(t: Test, output: string): Promise<void> {
  const address = /Mesos master listening on http:\/\/([0-9.:]+)/.exec(output)![1]!;
  const agent = startToilProcess(agentArgs(address));
  t.teardown(() => void agent.child.kill('SIGKILL'));
  await agent.waitFor(/registered with the master/);
  agent.child.kill('SIGTERM');
  await agent.done;
}

const cases: readonly {
  name: string;
  args: readonly string[];
  banner: RegExp;
  provoke: (t: Test, output: string) => void | Promise<void>;
}[] = [
  {
    name: 'toil localcloud (EC2 endpoint and Mesos master)',
    args: ['localcloud', '--ec2-port', '0', '--mesos-port', '0', '--logLevel', 'debug'],
    banner: /Mesos master: http:\/\/[0-9.:]+/,
    provoke: (_t, output) => refusedRequests(output),
  },
  {
    name: 'toil localcloud mesos',
    args: ['localcloud', 'mesos', '--port', '0', '--logLevel', 'debug'],
    banner: /Mesos master listening on http:\/\/[0-9.:]+/,
    provoke: agentComesAndGoes,
  },
  {
    name: 'toil localcloud ec2',
    args: ['localcloud', 'ec2', '--port', '0', '--logLevel', 'debug'],
    banner: /EC2 endpoint: http:\/\/[0-9.:]+/,
    provoke: (_t, output) => refusedRequests(output),
  },
];

for (const c of cases) {
  t.test(`${c.name}, its output pipe full, stops on one SIGTERM within a few seconds`, async (t) => {
    const p = await toilOnFifo(t, testDir(t, {}), c.args, c.banner);
    fillPipe(p.fillFd);
    // Lines logged while nobody reads meet the full pipe.
    await c.provoke(t, p.output);
    await sleep(1000);
    p.child.kill('SIGTERM');
    t.same(await p.exited(10_000), { code: 0, signal: null }, 'exited 0 on one SIGTERM within 10 s');
    closeSync(p.readFd);
    closeSync(p.fillFd);
  });

  t.test(`${c.name}, its output reader gone, goes on and stops on one SIGTERM`, async (t) => {
    const p = await toilOnFifo(t, testDir(t, {}), c.args, c.banner);
    fillPipe(p.fillFd);
    closeSync(p.readFd);
    closeSync(p.fillFd);
    await c.provoke(t, p.output);
    await sleep(1000);
    t.equal(p.child.exitCode, null, 'still running after writing to a broken pipe');
    p.child.kill('SIGTERM');
    t.same(await p.exited(10_000), { code: 0, signal: null }, 'exited 0 on one SIGTERM within 10 s');
  });
}

t.test(
  'toil localcloud agent, its output pipe full, stops on one SIGTERM within a few seconds',
  async (t) => {
    const master = startToilProcess(['localcloud', 'mesos', '--port', '0']);
    t.teardown(() => void master.child.kill('SIGKILL'));
    const address = (await master.waitFor(/Mesos master listening on http:\/\/([0-9.:]+)/))[1]!;
    const agent = await toilOnFifo(t, testDir(t, {}), agentArgs(address), /registered with the master/);
    fillPipe(agent.fillFd);
    // The master gone, the agent logs each attempt to reach it again, into the full pipe.
    master.child.kill('SIGKILL');
    await sleep(1500);
    agent.child.kill('SIGTERM');
    t.same(await agent.exited(10_000), { code: 0, signal: null }, 'the agent exited 0 within 10 s');
    closeSync(agent.readFd);
    closeSync(agent.fillFd);
  },
);
