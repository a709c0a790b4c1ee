import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { FileObjectStore } from '../jobstore/fileObjectStore.js';
import { pathExists } from '../common/pathExists.js';
import { shellQuote } from '../common/shellQuote.js';
import { LEADER_HEARTBEAT_DEFAULTS } from '../scaler/tick/heartbeatDefaults.js';
import type { ScalerConfig } from '../scaler/config.js';
import { leaderStateStores } from '../main/leaderState.js';
import { workDirOf } from '../main/env.js';

/**
 * Where `toil run … --provisioner aws` keeps its leader's state (the tick state: which of the
 * cluster's instances the run launched), one directory per job store under the work dir, and the
 * record of how it was started beside it. Both outlive a run killed with -9: they are the only
 * record of the nodes it left running, which `toil status JOBSTORE` reads to say so.
 */

/** The job store as the run names it: `file:` made absolute, so every command finds the same dir. */
export function absoluteLocator(text: string): string {
  return text.startsWith('aws:') ? text : `file:${resolve(text.replace(/^file:/, ''))}`;
}

export function autoscaleStateDir(workDir: string, jobStoreText: string): string {
  const hash = createHash('sha256').update(absoluteLocator(jobStoreText)).digest('hex').slice(0, 12);
  return join(workDir, `toil-autoscale-${hash}`);
}

/**
 * Where `toil status JOBSTORE` finds a run's state without `--workDir`: in the default work dir,
 * else through the pointer a run given another `--workDir` leaves there (`statePointerPath`),
 * so a user who does not repeat the run's `--workDir` is still told of the nodes it left.
 */
export async function findAutoscaleStateDir(defaultWorkDir: string, jobStoreText: string): Promise<string> {
  const here = autoscaleStateDir(defaultWorkDir, jobStoreText);
  if (await pathExists(here)) return here;
  const pointed = await readFile(statePointerPath(here), 'utf8').catch(() => undefined);
  return pointed?.trim() || here;
}

/** The pointer in the default work dir to a run's state kept in another work dir. */
export const statePointerPath = (defaultStateDir: string): string => `${defaultStateDir}.where`;

/** Leaves the pointer for `findAutoscaleStateDir` when the state is not in the default work dir. */
export async function writeStatePointer(stateDir: string, defaultStateDir: string): Promise<void> {
  if (stateDir === defaultStateDir) return;
  await writeFile(statePointerPath(defaultStateDir), `${stateDir}\n`, { mode: 0o600 }).catch(() => undefined);
}

/** How the run was started: what `toil status` prints to resume it. */
export interface AutoscaleRunRecord {
  readonly format: 1;
  /** The `toil` arguments, `run` first. */
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly clusterName: string;
  readonly zone: string;
  readonly startedAt: number;
  /**
   * The run's region has no on-demand prices in the instance catalogue: these types were priced
   * at another region's list price, so what its nodes cost is an estimate. Absent otherwise.
   */
  readonly estimatedPrices?: ScalerConfig['estimatedPrices'];
}

export const runRecordPath = (stateDir: string): string => `${stateDir}.run.json`;

/** Why a run's costs are estimates, for the lines that show them: `an estimate: t2.medium priced at …`. */
export function estimateNote(e: NonNullable<ScalerConfig['estimatedPrices']>): string {
  return `an estimate: ${e.types.join(', ')} priced at ${e.from}'s list price, the catalogue having none for ${e.region}`;
}

export async function writeRunRecord(stateDir: string, record: AutoscaleRunRecord): Promise<void> {
  await writeFile(runRecordPath(stateDir), JSON.stringify(record), { mode: 0o600 });
}

/** One node a run launched and never terminated, as its tick state records it. */
export interface LeftNode {
  readonly instanceId: string;
  readonly launchedAt: number;
  readonly pricePerHour: number;
  readonly spot: boolean;
}

/** What a run whose leader is gone left behind in its state directory; undefined when nothing. */
export interface LeftByRun {
  readonly stateDir: string;
  readonly nodes: readonly LeftNode[];
  /** Launches asked for whose answer never came: they may have made instances too. */
  readonly unansweredLaunches: readonly {
    readonly instanceType: string;
    readonly count: number;
    /** The launch carried the run's heartbeat in its tags (what it started is marked). */
    readonly marked?: boolean;
  }[];
  readonly run?: AutoscaleRunRecord;
  /** The pointer to `stateDir` the run left in the default work dir (`statePointerPath`), if any. */
  readonly pointer?: string;
}

/**
 * The pointer in the default work dir that leads to `stateDir`, when there is one: removed with
 * the state, or a later `toil status` would follow it to nothing.
 */
export async function pointerTo(stateDir: string, defaultStateDir: string): Promise<string | undefined> {
  if (stateDir === defaultStateDir) return undefined;
  const path = statePointerPath(defaultStateDir);
  const pointed = await readFile(path, 'utf8').catch(() => undefined);
  return pointed?.trim() === stateDir ? path : undefined;
}

/**
 * What a dead autoscaled run left: its state in the given work dir (a run's --workDir), else the
 * default one or the one the default's pointer names; with that pointer, which giving the run up
 * removes too.
 */
export async function leftByDeadRun(
  jobStore: string,
  workDir: string | undefined,
): Promise<LeftByRun | undefined> {
  const defaultStateDir = autoscaleStateDir(workDirOf(undefined), jobStore);
  const stateDir =
    workDir !== undefined
      ? autoscaleStateDir(workDirOf(workDir), jobStore)
      : await findAutoscaleStateDir(workDirOf(undefined), jobStore);
  return leftByRun(stateDir, await pointerTo(stateDir, defaultStateDir));
}

export async function leftByRun(stateDir: string, pointer?: string): Promise<LeftByRun | undefined> {
  // The run's own reader of its tick state (the leader's state stores), not a second copy of it.
  const state = await leaderStateStores(new FileObjectStore(stateDir))
    .tickStore.load()
    .catch(() => undefined);
  if (!state) return undefined;
  const nodes = Object.entries(state.owned).map(([instanceId, n]) => ({
    instanceId,
    launchedAt: n.launchedAt,
    pricePerHour: n.pricePerHour,
    spot: n.spot === true,
  }));
  const unansweredLaunches = state.pendingLaunches.map((p) => ({
    instanceType: p.instanceType,
    count: p.count,
    ...(p.leaderBeat ? { marked: true } : {}),
  }));
  if (nodes.length === 0 && unansweredLaunches.length === 0) return undefined;
  const run = await readFile(runRecordPath(stateDir), 'utf8')
    .then((t) => JSON.parse(t) as AutoscaleRunRecord)
    .catch(() => undefined);
  return { stateDir, nodes, unansweredLaunches, ...(run ? { run } : {}), ...(pointer ? { pointer } : {}) };
}

/** The command that resumes the run, adopting its nodes: its own arguments with --restart. */
export function restartCommand(run: AutoscaleRunRecord): string {
  const argv = run.argv.includes('--restart') ? run.argv : [...run.argv, '--restart'];
  return `cd ${shellQuote(run.cwd)} && toil ${argv.map(shellQuote).join(' ')}`;
}

/**
 * Who retires a dead run's instances: another leader of the cluster, once the heartbeat the run
 * wrote on them is stale (src/scaler/tick/deadLeaders.ts), written at their launch when the run
 * had shown it may write it; nobody, for instances never marked or when no other leader runs.
 */
function whoRetires(marked: boolean): string {
  const d = LEADER_HEARTBEAT_DEFAULTS;
  const staleMin = Math.round((d.leaderHeartbeat * d.leaderHeartbeatMisses + d.leaderClockSkew) / 60_000);
  return marked
    ? 'a leader still running on the cluster retires those carrying its heartbeat once that is stale ' +
        `(${staleMin} min after its last beat, with the default tick settings); otherwise nothing retires them ` +
        'until the run is resumed'
    : 'nothing retires them until the run is resumed';
}

/**
 * What `toil status` says of a dead autoscaled run's nodes: which, what they cost, and the two
 * ways out (resume and adopt them, or terminate them and drop the state).
 */
export function leftByRunLines(
  l: LeftByRun,
  now: number,
  /** The job store was deleted: the run can no longer be resumed, only given up. */
  storeGone = false,
): string {
  const perHour = l.nodes.reduce((s, n) => s + n.pricePerHour, 0);
  const est = l.run?.estimatedPrices;
  const about = est ? '≈' : '';
  const where = l.run ? ` of cluster ${l.run.clusterName} (${l.run.zone})` : '';
  const unanswered = l.unansweredLaunches.map((p) => `${p.count}×${p.instanceType}`).join(', ');
  const head =
    l.nodes.length > 0
      ? `${l.nodes.length} worker instance(s)${where} launched by this workflow's autoscaling leader, ` +
        `which is gone, are still its own and may be running and billing (${about}$${perHour.toFixed(4)}/h` +
        (est ? `, ${estimateNote(est)})` : ')') +
        (unanswered
          ? `, and its launch(es) of ${unanswered} were never answered: they may have started more`
          : '')
      : `this workflow's autoscaling leader is gone with its launch(es) of ${unanswered}${where} never answered: ` +
        'they may be running and billing';
  const listed = l.nodes.map(
    (n) =>
      `  ${n.instanceId} (${n.spot ? 'spot' : 'on-demand'}, ${about}$${n.pricePerHour.toFixed(4)}/h, ` +
      `up ${Math.round(Math.max(0, now - n.launchedAt) / 60_000)} min)`,
  );
  const resume = l.run
    ? restartCommand(l.run)
    : 'toil run WORKFLOW JOBSTORE --provisioner aws … --restart (with the same --workDir)';
  const destroy = l.run
    ? `toil destroy-cluster --zone ${l.run.zone} ${shellQuote(l.run.clusterName)}`
    : 'toil destroy-cluster CLUSTER';
  const region = l.run ? ` --region ${l.run.zone.replace(/[a-z]$/, '')}` : '';
  const ids = l.nodes.map((n) => n.instanceId).join(' ');
  const giveUp =
    (ids
      ? `aws ec2 terminate-instances${region} --instance-ids ${ids} (or the whole cluster: ${destroy})`
      : `${destroy} (the whole cluster: which instances the unanswered launches made only a resumed run learns)`) +
    `, then rm -r ${[
      l.stateDir,
      `${l.stateDir}.token`,
      runRecordPath(l.stateDir),
      ...(l.pointer ? [l.pointer] : []),
    ]
      .map(shellQuote)
      .join(' ')}`;
  return (
    [
      `nodes:      ${head}; ${whoRetires(l.nodes.length > 0 || l.unansweredLaunches.some((p) => p.marked))}`,
      ...listed,
      ...(storeGone
        ? [`  its job store is deleted, so it cannot be resumed: give it up: ${giveUp}`]
        : [`  resume it (adopts them, releases them when it ends): ${resume}`, `  or give it up: ${giveUp}`]),
    ].join('\n') + '\n'
  );
}
