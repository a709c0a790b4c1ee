/**
 * The cluster scenarios of the fault bench: a leader daemon (a real child process) scaling a
 * local cloud (in this process) for small sorts while something breaks. Every figure is counted
 * from the cloud (instances), the Mesos master (tasks) and the daemon's /status and log.
 *
 * Definitions used by every scenario:
 * - jobsLost: jobs with a Mesos task of which none finished (a job dropped for good).
 * - completedJobsRerun: jobs with a task started after one of theirs had finished.
 * - duplicateInstances: workers launched that no daemon ever owned (a launch it lost track of),
 *   plus any excess of the live-worker peak over maxNodes.
 * - orphanInstances: workers live at the end that the daemon does not own; leftRunning: every
 *   worker live at the end (the cluster should be back to 0 once the work is done).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from '../src/scaler/simulator/random.js';
import {
  daemonStatus,
  killLiveDaemons,
  retryFigures,
  sleep,
  sortedCorrectly,
  startBenchCloud,
  startDaemon,
  submitSort,
  TaskLedger,
  waitForQuiet,
  writeDaemonConfig,
  type BenchCloud,
  type BenchDaemon,
  type SortRun,
} from './faultCluster.js';

const MAX_NODES = 2;
const SORT_LINES = 4000;

type Figures = Record<string, unknown>;

/** Live-worker peak and every worker any daemon's /status ever listed as owned. */
class Watch {
  peak = 0;
  readonly everOwned = new Set<string>();
  daemon: BenchDaemon | undefined;
  private readonly timer: NodeJS.Timeout;
  private busy = false;

  private readonly cloud: BenchCloud;

  constructor(cloud: BenchCloud) {
    this.cloud = cloud;
    this.timer = setInterval(() => void this.sample(), 250);
  }

  private async sample(): Promise<void> {
    this.peak = Math.max(this.peak, this.cloud.liveWorkers().length);
    if (this.busy || !this.daemon) return;
    this.busy = true;
    try {
      for (const id of (await daemonStatus(this.daemon.url)).nodes.owned) this.everOwned.add(id);
    } catch {
      // killed between samples
    } finally {
      this.busy = false;
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }

  duplicates(): number {
    const neverOwned = this.cloud.workers().filter((i) => !this.everOwned.has(i.id)).length;
    return neverOwned + Math.max(0, this.peak - MAX_NODES);
  }
}

/** A cloud, a ledger, a watch and a temp dir for one scenario, all stopped and removed after. */
async function withCluster(
  name: string,
  body: (c: {
    dir: string;
    cloud: BenchCloud;
    ledger: TaskLedger;
    watch: Watch;
    config: string;
  }) => Promise<Figures>,
  more: readonly (readonly [string | RegExp, string])[] = [],
): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), `toil-bench-${name}-`));
  const started = Date.now();
  const cloud = await startBenchCloud(dir, name);
  const ledger = new TaskLedger(cloud);
  ledger.start();
  const watch = new Watch(cloud);
  try {
    const config = writeDaemonConfig(dir, cloud, name, more);
    const figures = await body({ dir, cloud, ledger, watch, config });
    await ledger.stop();
    return {
      scenario: name,
      ...figures,
      ...ledger.figures(),
      instancesCreated: cloud.workers().length,
      peakWorkers: watch.peak,
      maxNodes: MAX_NODES,
      duplicateInstances: watch.duplicates(),
      elapsedMs: Date.now() - started,
    };
  } finally {
    await killLiveDaemons();
    watch.stop();
    await ledger.stop();
    await cloud.stop();
    if (!process.env.TOIL_BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
  }
}

/** Ends the scenario: every run ended and the cluster scaled in, the daemon stopped. */
async function finish(
  daemon: BenchDaemon,
  cloud: BenchCloud,
  runs: readonly SortRun[],
  log: string,
): Promise<Figures> {
  const q = await waitForQuiet(daemon, cloud, runs, 240_000);
  const all = log + daemon.output();
  const stoppedInTime = await daemon.stop();
  const completed = runs.filter((r) => q.statuses.get(r.id) === 'succeeded' && sortedCorrectly(r)).length;
  return {
    workflows: runs.length,
    workflowsCompleted: completed,
    ...(completed < runs.length ? { notCompleted: q.messages } : {}),
    ...retryFigures(all),
    orphanInstances: q.orphans.length,
    leftRunning: q.leftRunning.length,
    ...(stoppedInTime ? {} : { daemonIgnoredSigterm: true }),
  };
}

/**
 * kill -9 of the daemon at `kills` seeded random moments (0.25–6 s after it serves /status); a
 * sort is submitted whenever none is running, so some kills fall right after a submission. Then a
 * last daemon finishes the work.
 */
export function daemonKills(seed: number, kills = 10): Promise<Figures> {
  return withCluster('daemon-kill9', async ({ dir, cloud, watch, config }) => {
    const rnd = seededRandom(seed + 2);
    const runs: SortRun[] = [];
    const killedAfterMs: number[] = [];
    let log = '';
    for (let i = 0; i < kills; i++) {
      const d = await startDaemon(config, dir);
      watch.daemon = d;
      const s = await daemonStatus(d.url);
      if (!s.workflows.some((w) => w.status === 'running'))
        runs.push(await submitSort(d.url, dir, `sort${runs.length}`, SORT_LINES));
      const ms = Math.round(250 + rnd() * 5750);
      killedAfterMs.push(ms);
      await sleep(ms);
      watch.daemon = undefined;
      await d.kill9();
      log += d.output();
    }
    const last = await startDaemon(config, dir);
    watch.daemon = last;
    return { kills, killedAfterMs, ...(await finish(last, cloud, runs, log)) };
  });
}

/**
 * Every live spot worker dies at once (its agent and tasks SIGKILLed, EC2 reclaims it), 3 times
 * while a sort runs on them. Per round: jobs running on the dead workers, seconds until the
 * daemon re-issued the last of them (its "lost with its node" log line), and seconds until a
 * replacement worker was running.
 */
export function spotKills(rounds = 3): Promise<Figures> {
  return withCluster('spot-kill', async ({ dir, cloud, ledger, watch, config }) => {
    const d = await startDaemon(config, dir);
    watch.daemon = d;
    const runs: SortRun[] = [];
    const figures: {
      killed: number;
      jobsOnThem: number;
      reissueS: number | null;
      replaceS: number | null;
    }[] = [];
    for (let r = 0; r < rounds; r++) {
      // A spot worker running one of our tasks.
      let victims: string[] = [];
      let lost: string[] = [];
      const until = Date.now() + 120_000;
      while (Date.now() < until) {
        const s = await daemonStatus(d.url);
        if (!s.workflows.some((w) => w.status === 'running'))
          runs.push(await submitSort(d.url, dir, `sort${runs.length}`, SORT_LINES * 2));
        await ledger.poll();
        const spot = cloud.liveWorkers().filter((i) => i.market === 'spot' && i.state === 'running');
        lost = ledger.runningOn(new Set(spot.map((i) => i.privateIp))).map((t) => t.jobId);
        if (lost.length > 0) {
          victims = spot.map((i) => i.id);
          break;
        }
        await sleep(200);
      }
      if (victims.length === 0) break;
      const t0 = Date.now();
      for (const id of victims) cloud.killSpotWorker(id);
      let reissueS: number | null = null;
      let replaceS: number | null = null;
      const wait = Date.now() + 150_000;
      while ((reissueS === null || replaceS === null) && Date.now() < wait) {
        const reissued = new Map<string, number>();
        for (const line of d.output().split('\n')) {
          if (!line.includes('no retry spent')) continue;
          const e = JSON.parse(line) as { time: number; jobId: string };
          if (e.time >= t0 && lost.includes(e.jobId) && !reissued.has(e.jobId)) reissued.set(e.jobId, e.time);
        }
        if (reissueS === null && reissued.size === lost.length)
          reissueS = (Math.max(...reissued.values()) - t0) / 1000;
        const replacement = cloud
          .workers()
          .find((i) => i.launchTime >= t0 && i.state === 'running' && !victims.includes(i.id));
        if (replaceS === null && replacement) replaceS = (replacement.stateSince - t0) / 1000;
        await sleep(200);
      }
      figures.push({ killed: victims.length, jobsOnThem: lost.length, reissueS, replaceS });
    }
    const max = (k: 'reissueS' | 'replaceS'): number | null =>
      figures.some((f) => f[k] === null) ? null : Math.max(...figures.map((f) => f[k] ?? 0));
    return {
      rounds: figures.length,
      perRound: figures,
      secondsToReissueMax: max('reissueS'),
      secondsToReplaceMax: max('replaceS'),
      ...(await finish(d, cloud, runs, '')),
    };
  });
}

/**
 * EC2 answers 30% of calls RequestLimitExceeded and 10% with a 5xx (half of those after the call
 * took effect), and has spot capacity for one t2.medium only (then InsufficientInstanceCapacity).
 */
export function ec2Faults(seed: number): Promise<Figures> {
  return withCluster('ec2-faults', async ({ dir, cloud, watch, config }) => {
    const f = cloud.ec2.faults;
    f.reseed(seed);
    f.throttleRate = 0.3;
    f.serverErrorRate = 0.1;
    f.limitCapacity({ instanceType: 't2.medium', market: 'spot', remaining: 1 });
    const requestsBefore = cloud.ec2.stats.requests;
    const d = await startDaemon(config, dir);
    watch.daemon = d;
    const runs = [await submitSort(d.url, dir, 'sort0', SORT_LINES)];
    const end = await finish(d, cloud, runs, '');
    return {
      throttleRate: 0.3,
      serverErrorRate: 0.1,
      ec2Requests: cloud.ec2.stats.requests - requestsBefore,
      injected: { ...f.counts },
      byMarket: {
        spot: cloud.workers().filter((i) => i.market === 'spot').length,
        onDemand: cloud.workers().filter((i) => i.market === 'on-demand').length,
      },
      ...end,
    };
  });
}

/** The Mesos master stops and, 3 s later, a new one starts on its port and registry while a sort runs. */
export function masterRestart(): Promise<Figures> {
  return withCluster('mesos-master-restart', async ({ dir, cloud, ledger, watch, config }) => {
    const d = await startDaemon(config, dir);
    watch.daemon = d;
    const runs = [await submitSort(d.url, dir, 'sort0', SORT_LINES)];
    const until = Date.now() + 120_000;
    let running = 0;
    while (Date.now() < until) {
      await ledger.poll();
      const ts = [...ledger.tasks.values()];
      running = ts.filter((t) => t.endedAt === undefined).length;
      if (ts.filter((t) => t.state === 'TASK_FINISHED').length >= 3 && running > 0) break;
      await sleep(200);
    }
    const t0 = Date.now();
    await cloud.restartMaster(3000);
    const downMs = Date.now() - t0;
    return { tasksRunningAtRestart: running, masterDownMs: downMs, ...(await finish(d, cloud, runs, '')) };
  });
}
