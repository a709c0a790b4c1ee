import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { RealClock } from '../../src/common/clock.js';
import { createLogger } from '../../src/common/log.js';
import { parseLeaderConfigObject } from '../../src/leader/leaderConfig.js';
import { createLeaderMetrics } from '../../src/leader/metrics.js';
import { startLeader } from '../../src/main/leader.js';
import { readCatalogue } from '../../src/scaler/catalogueFile.js';
import { SlurmCli } from '../../src/slurm/cli.js';
import type { SlurmJob } from '../../src/slurm/json.js';
import { parseAttemptComment } from '../../src/slurm/jobScript.js';
import { byteSorted, nonEmptyLines, sleep } from '../fixtures/leaderE2e.js';
import { needsSlurm } from '../fixtures/slurmCluster.js';
import { REPO_ROOT } from '../fixtures/workflowCli.js';

/**
 * The daemon with `batchSystem.kind: slurm` on the embedded local cloud, in this process: the EC2
 * endpoint, a real slurmctld, each running worker instance a real slurmd. One sort of 104 jobs
 * (a fixed input, so the job count is fixed) with --retryCount 0; one spot worker is reclaimed
 * while a job runs on it. Checked against Slurm's own records (squeue's job list, sinfo, the
 * controller's log) and the cloud's instance states, not the leader's log.
 */
// A real controller, several slurmd and ~110 worker processes: 98 s at load 7, over 200 s at load 16.
t.setTimeout(420_000);

/** 1000 lines of 10 letters from a fixed generator: the sort splits it into 104 jobs at --N 355. */
function fixedLines(): string {
  let x = 7;
  const lines: string[] = [];
  for (let i = 0; i < 1000; i++) {
    let s = '';
    for (let j = 0; j < 10; j++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      s += String.fromCharCode(97 + ((x >> 16) % 26));
    }
    lines.push(s);
  }
  return `${lines.join('\n')}\n`;
}

interface Sample {
  /** EC2's state of each worker instance, read first. */
  readonly ec2: Map<string, string>;
  /** Then Slurm's nodes: name → state and flags. */
  readonly slurm: Map<string, string>;
}

t.test(
  'the daemon autoscales Slurm on the local cloud: a 104-job sort scales 0 → n → 0, nodes join as instances boot and are drained and deleted before they terminate, a reclaimed spot node costs no retry',
  { skip: needsSlurm() },
  async (t) => {
    // Not t.testdir: that is removed before this test's teardown stops the leader that writes there.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'toil-slurm-autoscale-'));
    fs.writeFileSync(path.join(dir, 'in.txt'), fixedLines());
    const config = parseLeaderConfigObject(
      {
        jobStore: `file:${dir}/state`,
        logLevel: 'info',
        http: { host: '127.0.0.1', port: 0 },
        batchSystem: { kind: 'slurm' },
        provisioner: { kind: 'embedded', clusterName: 'slurm', zone: 'us-west-2a' },
        localcloud: { bootDelay: '300ms', shutdownDelay: '300ms' },
        tick: { queueDebounce: '300ms' },
        scaler: {
          region: 'us-west-2',
          zones: ['us-west-2a'],
          nodeTypes: ['t2.medium', { type: 't2.medium', spot: true }],
          maxNodes: 3,
          maxPreemptableNodes: 3,
          minNodes: 0,
          scaleInterval: '1s',
          targetTime: '2s',
          bootTime: '1s',
          idleGrace: '2s',
          betaInertia: 0,
        },
      },
      await readCatalogue(),
      'test',
    );
    const logFile = path.join(dir, 'leader.log');
    const log = createLogger({ level: 'info', destination: fs.createWriteStream(logFile) });
    const leader = await startLeader({
      config: () => config,
      clock: new RealClock(),
      log,
      metrics: createLeaderMetrics(),
      resumeWorkflows: false,
      cwd: dir,
    });
    let stopped = false;
    t.teardown(async () => {
      if (!stopped) await leader.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    const endpoint = leader.embedded!.endpoint;
    const slurmConf = leader.embedded!.slurmConf!;
    const slurm = new SlurmCli({ conf: slurmConf });
    // Every worker instance seen running by any look at the cloud: a spot worker reclaimed as soon
    // as it joined may be seen running only by the look that picked it (a busy machine's sample
    // can take a second or two between its cloud and Slurm reads).
    const everRan = new Set<string>();
    const workers = (): { id: string; state: string; market: string }[] => {
      const ws = [...endpoint.cloud.instances.values()]
        .filter((i) => i.tags.get('ToilNodeType') === 'worker')
        .map((i) => ({ id: i.id, state: i.state, market: i.market }));
      for (const w of ws) if (w.state === 'running') everRan.add(w.id);
      return ws;
    };
    t.same(workers(), [], 'no worker before the workflow');

    const run = leader.daemon.submit({
      workflowFile: path.join(REPO_ROOT, 'examples/sort.ts'),
      jobStore: `file:${dir}/js`,
      args: ['--fileToSort', `${dir}/in.txt`, '--outputFile', `${dir}/out.txt`, '--N', '355'],
      defaultPreemptable: true,
      options: {
        retryCount: 0,
        defaults: { cores: 1, memory: 600 * 2 ** 20, disk: 2 ** 30 },
        workDir: dir,
      },
    });

    const t0 = Date.now();
    // Slurm's job records as last seen, by Slurm job id: read all along, not once at the end, since a
    // read of squeue on a loaded machine can come back empty while the records still exist.
    const seenJobs = new Map<number, SlurmJob>();
    let emptyReads = 0;
    const readJobs = async (): Promise<SlurmJob[]> => {
      const jobs = await slurm.jobs();
      if (jobs.length === 0 && seenJobs.size > 0) emptyReads++;
      for (const j of jobs) seenJobs.set(j.jobId, j);
      return jobs;
    };
    const samples: Sample[] = [];
    const sample = async (): Promise<Sample> => {
      const ec2 = new Map(workers().map((w) => [w.id, w.state]));
      const nodes = await slurm.nodes();
      workers(); // a node Slurm lists may have booted while it was asked
      const s: Sample = {
        ec2,
        slurm: new Map(
          nodes.filter((n) => n.state !== 'future').map((n) => [n.name, [n.state, ...n.flags].join('+')]),
        ),
      };
      samples.push(s);
      return s;
    };
    // Reclaim a spot worker while a job of ours runs on it (the cloud takes it at once). A job
    // about to end can still finish first (its slurmd reported it before the machine died): then
    // another spot worker is reclaimed, until a job was cut off (at most four tries).
    const victims: { node: string; jobs: number[] }[] = [];
    let cutOff = false;
    let peak = 0;
    while (run.status === 'running') {
      const s = await sample();
      peak = Math.max(peak, [...s.ec2.values()].filter((st) => st === 'running').length);
      const read = await readJobs();
      const jobs = cutOff || victims.length >= 4 ? [] : read;
      const last = victims.at(-1);
      // Every job Slurm ran on the last victim, not only those running when it was picked: under
      // load those can end first, and a job placed there just before the kill is the one cut off.
      const lastEnded = last && [
        ...last.jobs.map((id) => jobs.find((j) => j.jobId === id)?.state ?? 'UNKNOWN'),
        ...jobs.filter((j) => j.nodes === last.node && !last.jobs.includes(j.jobId)).map((j) => j.state),
      ];
      if (lastEnded?.some((st) => st !== 'COMPLETED' && st !== 'RUNNING' && st !== 'COMPLETING'))
        cutOff = true;
      if (!cutOff && victims.length < 4 && (!lastEnded || lastEnded.every((st) => st === 'COMPLETED'))) {
        const spot = new Set(
          workers()
            .filter((w) => w.market === 'spot' && w.state === 'running')
            .map((w) => w.id),
        );
        // The job that started last has the longest left to run.
        const onSpot = jobs
          .filter((j) => j.state === 'RUNNING' && spot.has(j.nodes))
          .sort((a, b) => b.startTime - a.startTime);
        const node = onSpot[0]?.nodes;
        if (node) {
          victims.push({ node, jobs: onSpot.filter((j) => j.nodes === node).map((j) => j.jobId) });
          endpoint.interruptSpot(node, 0);
          // Reclaimed now, not at the cloud's next tick: the machine dies under the running job.
          endpoint.cloud.settle();
        }
      }
      // Each sample is a process or two (sinfo, squeue): not more often on a two-core machine.
      await sleep(400);
    }
    await leader.daemon.workflowsDone();
    const workflowMs = Date.now() - t0;
    t.equal(run.status, 'succeeded', `the workflow succeeded with --retryCount 0 (${run.message ?? ''})`);
    t.equal(run.jobsRun, 104, 'all 104 jobs ran');
    t.same(nonEmptyLines(`${dir}/out.txt`), byteSorted(nonEmptyLines(`${dir}/in.txt`)), 'sorted correctly');

    // Back to 0: wait (bounded) for every worker to be terminated, sampling all along.
    for (let i = 0; i < 300; i++) {
      const s = await sample();
      if (i % 5 === 0) await readJobs();
      if ([...s.ec2.values()].every((st) => st === 'terminated') && s.slurm.size === 0) break;
      await sleep(200);
    }
    const last = samples.at(-1)!;
    t.comment(
      `workflow ${(workflowMs / 1000).toFixed(1)} s; back to 0 workers ${((Date.now() - t0) / 1000).toFixed(1)} s after submission`,
    );
    t.ok(peak >= 2, `scaled up to ${peak} running workers`);
    t.ok(
      [...last.ec2.values()].every((st) => st === 'terminated'),
      `every worker terminated: ${[...last.ec2].map(([id, st]) => `${id} ${st}`).join(', ')}`,
    );
    t.same([...last.slurm.keys()], [], 'Slurm keeps no node of a gone instance');

    // Slurm's own records: every node was an instance of ours that joined while it ran.
    const everJoined = new Set(samples.flatMap((s) => [...s.slurm.keys()]));
    t.ok(everJoined.size >= 2, `${everJoined.size} instances joined Slurm as nodes`);
    for (const node of everJoined)
      t.ok(everRan.has(node), `Slurm node ${node} is a worker instance that ran`);
    const reclaimed = new Set(victims.map((v) => v.node));
    // Scaled in, not lost: every node but the reclaimed ones was deleted from Slurm before EC2 shut it down
    // (EC2 read first in each sample: a node listed after its instance left `running` was not).
    for (const node of everJoined) {
      if (reclaimed.has(node)) continue;
      const late = samples.filter(
        (s) => s.ec2.get(node) !== 'running' && s.ec2.get(node) !== 'pending' && s.slurm.has(node),
      );
      t.equal(late.length, 0, `${node} was gone from Slurm before its instance stopped running`);
    }
    // The controller's log: each scaled-in node was drained by the scaler (then deleted, above).
    const ctld = fs.readFileSync(path.join(path.dirname(slurmConf), 'log', 'slurmctld.log'), 'utf8');
    for (const node of everJoined) {
      if (reclaimed.has(node)) continue;
      t.match(ctld, `update_node: node ${node} reason set to: toil: scaling in`, `slurmctld drained ${node}`);
    }

    // The reclaimed spot node: its jobs' Slurm records did not complete there, and each of those
    // toil jobs completed later elsewhere (re-issued; with --retryCount 0, no retry was spent).
    await readJobs();
    const records = [...seenJobs.values()].filter((j) => parseAttemptComment(j.comment));
    const cut = records.filter(
      (j) => victims.some((v) => v.jobs.includes(j.jobId) || v.node === j.nodes) && j.state !== 'COMPLETED',
    );
    t.ok(
      cut.length > 0,
      `spot workers reclaimed: ${victims.map((v) => v.node).join(', ')}; Slurm jobs cut off there: ${cut.map((j) => `${j.jobId} ${j.state}`).join(', ')}`,
    );
    // A job cut off after it had committed (its result saved, its end not yet told to Slurm) is not
    // run again: only the leader can tell, from the commit it reads when the loss comes, so its
    // log line is the witness for those (the store itself is deleted once the run succeeds).
    const committedBeforeCut = new Set(
      fs
        .readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((l) => l.includes('after it had committed: its result stands'))
        .map((l) => (JSON.parse(l) as { jobId: string }).jobId),
    );
    for (const j of cut) {
      const toilJob = parseAttemptComment(j.comment)!.jobId;
      const again = records.filter(
        (r) => parseAttemptComment(r.comment)!.jobId === toilJob && r.jobId !== j.jobId,
      );
      if (committedBeforeCut.has(toilJob)) {
        t.same(again, [], `toil job ${toilJob} had committed before its node went: not run again`);
        continue;
      }
      t.ok(
        again.some((r) => r.state === 'COMPLETED' && !reclaimed.has(r.nodes)),
        `toil job ${toilJob} completed again on another node (${again.map((r) => `${r.state}@${r.nodes}`).join(', ')})`,
      );
    }
    const completed = new Set(
      records.filter((r) => r.state === 'COMPLETED').map((r) => parseAttemptComment(r.comment)!.jobId),
    );
    // Its node may have gone after Slurm recorded the job COMPLETED and before the leader read
    // that (the leader saw the node gone first): the job still ran once, never twice.
    for (const id of committedBeforeCut) {
      const tries = records.filter((r) => parseAttemptComment(r.comment)!.jobId === id);
      t.equal(
        tries.length,
        1,
        `toil job ${id}, lost after it had committed, ran once (${tries.map((r) => `${r.state}@${r.nodes}`).join(', ')})`,
      );
    }
    const doneJobs = new Set([...completed, ...committedBeforeCut]);
    t.equal(
      doneJobs.size,
      104,
      `104 distinct toil jobs done: ${completed.size} completed by Slurm's records, ${committedBeforeCut.size} committed before their node went (${[...committedBeforeCut].filter((id) => completed.has(id)).length} of those among Slurm's completed)`,
    );

    const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
    const done = records.filter((r) => r.state === 'COMPLETED');
    t.comment(
      `Slurm's records: ${records.length} jobs (${emptyReads} of squeue's reads after the first job came back empty); submit → start median ${median(done.map((r) => r.startTime - r.submitTime))} s, run median ${median(done.map((r) => r.endTime - r.startTime))} s; first submit → last end ${Math.max(...done.map((r) => r.endTime)) - Math.min(...records.map((r) => r.submitTime))} s`,
    );
    stopped = true;
    await leader.stop();
    // The local cloud's start-up line names what its workers join: here a Slurm controller.
    const listening = fs
      .readFileSync(logFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes('local EC2 endpoint listening'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    t.equal(listening.length, 1, 'one local EC2 endpoint started');
    t.match(listening[0], { workersJoin: /^127\.0\.0\.1:\d+$/ }, 'it names the address its workers join');
    t.notOk('mesosMaster' in listening[0]!, 'not as a Mesos master: they join a Slurm controller');
    if (t.passing()) return;
    t.comment(
      fs
        .readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((l) => /"level":(40|50)/.test(l))
        .slice(-40)
        .join('\n'),
    );
  },
);
