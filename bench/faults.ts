/**
 * Fault bench: what reaches the leader from outside, fuzzed, with the figures per scenario as JSON
 * lines. `npm run bench -- faults [seed=1] [scenario…]` (all scenarios by default)
 * - config-fuzz: 1,000 mutations of config/leader.yaml through the parser the daemon and its
 *   reloader use: accepted, rejected (ConfigError, each problem with its path), crashes (anything
 *   else thrown).
 * - http-fuzz: 2,000 requests of random method, path, token and body at a running daemon on the
 *   embedded local cloud: status classes, 5xx, mutations taken without the token, workflows
 *   started, and whether the daemon still answers /healthz at the end (crashes).
 * - daemon-kill9, spot-kill, ec2-faults, mesos-master-restart: a daemon scaling a local cloud
 *   while it is killed, its spot workers die, EC2 misbehaves, or the Mesos master restarts
 *   (bench/faultScenarios.ts).
 */
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RealClock } from '../src/common/clock.js';
import { ConfigError } from '../src/common/configErrors.js';
import { silentLogger } from '../src/common/log.js';
import { parseLeaderConfig } from '../src/leader/leaderConfig.js';
import { createLeaderMetrics } from '../src/leader/metrics.js';
import { startLeader } from '../src/main.js';
import { readCatalogue } from '../src/scaler/catalogueFile.js';
import { seededRandom } from '../src/scaler/simulator/random.js';
import { daemonKills, ec2Faults, masterRestart, spotKills } from './faultScenarios.js';

const ROOT = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../' : '../', import.meta.url));

const prng = seededRandom;

const JUNK = [
  '',
  '-1',
  '0',
  '1e309',
  'NaN',
  '"x"',
  '{',
  '[',
  ']',
  '}',
  ': :',
  '!!binary AAAA',
  '*alias',
  '&anchor',
  '~',
  'null',
  'true',
  '99999999999999999999',
  '"\u0000"',
  'ünïcödé',
  '10q',
  '5m',
  '-5s',
  '0.5',
  '[1, 2]',
  '{a: 1}',
  '\t',
  '|',
  '>',
  '? x',
];

function mutate(text: string, rnd: () => number): string {
  const lines = text.split('\n');
  const pick = (n: number): number => Math.floor(rnd() * n);
  const junk = (): string => JUNK[pick(JUNK.length)]!;
  const edits = 1 + pick(3);
  for (let e = 0; e < edits; e++) {
    const i = pick(lines.length);
    const line = lines[i] ?? '';
    switch (pick(7)) {
      case 0:
        lines.splice(i, 1);
        break;
      case 1:
        lines.splice(i, 0, line);
        break;
      case 2:
        lines[i] = line.includes(':') ? `${line.slice(0, line.indexOf(':') + 1)} ${junk()}` : junk();
        break;
      case 3:
        lines[i] = `${' '.repeat(pick(6))}${line.trimStart()}`;
        break;
      case 4:
        lines.splice(i, 0, `${junk()}: ${junk()}`);
        break;
      case 5:
        return lines.join('\n').slice(0, pick(text.length));
      default:
        lines[i] = line.replace(/\d+/, String(Math.floor((rnd() - 0.3) * 10 ** pick(12))));
    }
  }
  return lines.join('\n');
}

async function configFuzz(seed: number, files: number): Promise<Record<string, unknown>> {
  const catalogue = await readCatalogue();
  const base = readFileSync(join(ROOT, 'config/leader.yaml'), 'utf8');
  const rnd = prng(seed);
  let accepted = 0;
  let rejected = 0;
  let rejectedWithoutPath = 0;
  const crashes: string[] = [];
  const started = Date.now();
  for (let i = 0; i < files; i++) {
    const text = mutate(base, rnd);
    try {
      parseLeaderConfig(text, catalogue, `fuzz-${i}.yaml`);
      accepted++;
    } catch (e) {
      if (e instanceof ConfigError) {
        rejected++;
        if (e.problems.length === 0) rejectedWithoutPath++;
      } else crashes.push(`${i}: ${(e as Error).message}`);
    }
  }
  return {
    scenario: 'config-fuzz',
    files,
    accepted,
    rejected,
    rejectedWithoutReason: rejectedWithoutPath,
    crashes: crashes.length,
    ...(crashes.length > 0 ? { firstCrash: crashes[0] } : {}),
    elapsedMs: Date.now() - started,
  };
}

async function httpFuzz(seed: number, requests: number): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'toil-bench-faults-'));
  const catalogue = await readCatalogue();
  const text = readFileSync(join(ROOT, 'config/leader.yaml'), 'utf8')
    .replace('port: 8080', 'port: 0')
    .replace('file:./toil-leader-state', `file:${dir}/state`);
  const config = parseLeaderConfig(text, catalogue);
  const leader = await startLeader({
    config: () => config,
    clock: new RealClock(),
    log: silentLogger(),
    metrics: createLeaderMetrics({ withProcessMetrics: false }),
    cwd: dir,
  });
  const token = readFileSync(`${dir}/state.token`, 'utf8').trim();
  // Files the fuzzer names: none is a workflow the daemon may run.
  mkdirSync(join(dir, 'adir.ts'));
  writeFileSync(join(dir, 'notes.txt'), 'not a workflow');
  writeFileSync(join(dir, 'broken.ts'), 'export default {{{');
  const rnd = prng(seed + 1);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const files = [
    join(dir, 'adir.ts'),
    join(dir, 'notes.txt'),
    join(dir, 'broken.ts'),
    '/etc/hostname',
    '/etc/passwd',
    'relative.ts',
    '',
    join(dir, 'missing.ts'),
    '/dev/zero',
  ];
  const stores = [
    '',
    'gs:bad',
    'file:',
    'file:rel',
    'aws:nowhere:x',
    'aws:us-west-2:A',
    `file:${dir}/js`,
    's3://x',
  ];
  const paths = [
    '/workflows',
    '/workflows/x',
    '/workflows/../status',
    '/status',
    '/metrics',
    '/healthz',
    '/readyz',
    '/',
    '/scaler/plan',
    '/nope',
    '/workflows/%00',
    `/workflows/${'a'.repeat(5000)}`,
  ];
  const body = (): string | undefined => {
    switch (Math.floor(rnd() * 6)) {
      case 0:
        return undefined;
      case 1:
        return '{"workflowFile":';
      case 2:
        return JSON.stringify({
          workflowFile: pick(files),
          jobStore: pick(stores),
          args: pick([[], ['x'], [1], 'x', null]),
        });
      case 3:
        return JSON.stringify({ workflowFile: pick(files), jobStore: pick(stores), extra: true });
      case 4:
        return 'x'.repeat(Math.floor(rnd() * 200_000));
      default:
        return JSON.stringify(pick([null, 1, 'x', [], { a: { b: { c: [] } } }]));
    }
  };
  const byClass: Record<string, number> = {};
  let serverErrors = 0;
  let unauthenticatedTaken = 0;
  let transportErrors = 0;
  const started = Date.now();
  for (let i = 0; i < requests; i++) {
    const method = pick(['GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'HEAD', 'OPTIONS']);
    const auth = pick(['none', 'good', 'bad', 'malformed']);
    const headers: Record<string, string> = {};
    if (rnd() < 0.7)
      headers['content-type'] = pick(['application/json', 'text/plain', 'application/x-www-form-urlencoded']);
    if (auth === 'good') headers['authorization'] = `Bearer ${token}`;
    if (auth === 'bad') headers['authorization'] = `Bearer ${token.slice(1)}x`;
    if (auth === 'malformed') headers['authorization'] = pick(['Bearer', 'Basic abc', token, 'Bearer  a b']);
    const b = method === 'GET' || method === 'HEAD' ? undefined : body();
    try {
      const res = await fetch(`${leader.url}${pick(paths)}`, {
        method,
        headers,
        ...(b !== undefined ? { body: b } : {}),
      });
      await res.arrayBuffer();
      const cls = `${Math.floor(res.status / 100)}xx`;
      byClass[cls] = (byClass[cls] ?? 0) + 1;
      if (res.status >= 500) serverErrors++;
      if (auth !== 'good' && (method === 'POST' || method === 'DELETE') && res.status < 300)
        unauthenticatedTaken++;
    } catch {
      transportErrors++;
    }
  }
  const workflowsStarted = (leader.daemon.status() as { workflows: unknown[] }).workflows.length;
  const healthy = (await fetch(`${leader.url}/healthz`).catch(() => undefined))?.status === 200;
  await leader.stop();
  rmSync(dir, { recursive: true, force: true });
  return {
    scenario: 'http-fuzz',
    requests,
    byClass,
    serverErrors,
    transportErrors,
    unauthenticatedTaken,
    workflowsStarted,
    crashes: healthy ? 0 : 1,
    elapsedMs: Date.now() - started,
  };
}

const SCENARIOS: Readonly<Record<string, (seed: number) => Promise<Record<string, unknown>>>> = {
  'config-fuzz': (seed) => configFuzz(seed, 1000),
  'http-fuzz': (seed) => httpFuzz(seed, 2000),
  'daemon-kill9': (seed) => daemonKills(seed, 10),
  'spot-kill': () => spotKills(3),
  'ec2-faults': (seed) => ec2Faults(seed),
  'mesos-master-restart': () => masterRestart(),
};

export default async function bench(args: string[]): Promise<void> {
  const seed = Number(args[0] ?? 1);
  const only = args.slice(1);
  const unknown = only.filter((n) => !(n in SCENARIOS));
  if (unknown.length > 0)
    throw new Error(`no scenario ${unknown.join(', ')} (${Object.keys(SCENARIOS).join(', ')})`);
  const line = (o: Record<string, unknown>): boolean =>
    process.stdout.write(JSON.stringify({ bench: 'faults', seed, ...o }) + '\n');
  for (const [name, run] of Object.entries(SCENARIOS))
    if (only.length === 0 || only.includes(name)) line(await run(seed));
}
