import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, yamlProblem } from '../common/configErrors.js';
import { jsonSyntaxProblem } from '../common/jsonSyntax.js';
import { UserInputError } from '../common/errors.js';
import { packageRoot } from '../common/packageRoot.js';
import { formatDuration } from '../common/units.js';
import { yaml } from '../common/yaml.js';
import { LEADER_ONLY_KEYS } from '../leader/leaderConfig.js';
import type { Catalogue } from '../scaler/catalogue.js';
import { readCatalogue } from '../scaler/catalogueFile.js';
import { OBJECTIVES, type PolicyChoice, type ScalerConfig } from '../scaler/config.js';
import { POLICIES } from '../scaler/policy.js';
import { parseSimulateConfig, type SimulateConfig } from '../scaler/simulator/config.js';
import { simulate, type SimulationProgress, type SimulationResult } from '../scaler/simulator/engine.js';
import { parseTrace, traceFields, type Trace } from '../scaler/simulator/trace.js';
import { refuseUnrunnable } from '../scaler/simulator/unrunnable.js';
import type { PolicyName } from '../scaler/types.js';
import { addForeignOptions, checkForeignOptions } from './foreignOptions.js';
import type { SubCommand } from './main.js';
import { REMOVED_SCALER_OPTIONS } from './removedScalerOptions.js';
import { addScalerOptions, autoscalingFlagsGiven, type AutoscalingFlags } from './runAutoscaledOptions.js';
import { flagError, problemOfFlag, scalerSectionOverFile, type ScalerFlagSection } from './scalerFlags.js';
import { progressReporter } from './simulateProgress.js';

/** The cluster `toil simulate` runs a trace on when no --config is given (the benchmarks' own). */
const DEFAULT_CLUSTER = 'bench/traces/cluster.yaml';
const DEFAULT_CLUSTER_IS = `the shipped ${DEFAULT_CLUSTER} (seven spot and on-demand node types, maxNodes 10)`;

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new UserInputError('FILE_UNREADABLE', `cannot read ${what} ${path}: ${(e as Error).message}`);
  }
}

/** What a trace file holds, as the messages about one say it. */
const TRACE_SHAPE = '{"jobs": [{"id": …, "name": …, "cores": …, "memory": …, "runtime": …}, …]}';

/**
 * The trace file's JSON document. A problem names the file, line and column, what JSON expected
 * there and the line itself: JSON.parse gives an offset, or only a few characters of context.
 */
function traceJson(text: string, tracePath: string): unknown {
  // An editor's byte order mark is no part of the document.
  const body = text.replace(/^\uFEFF/, '');
  if (body.trim() === '')
    throw new UserInputError(
      'TRACE_INVALID',
      `trace ${tracePath} is empty: expected one JSON document, ${TRACE_SHAPE}`,
    );
  try {
    return JSON.parse(body);
  } catch (e) {
    const p = jsonSyntaxProblem(body);
    if (p === undefined)
      throw new UserInputError('TRACE_INVALID', `trace ${tracePath} is not JSON: ${(e as Error).message}`);
    const hint = p.secondDocument ? `; expected one document, ${TRACE_SHAPE}` : '';
    const shown = p.excerpt.trim() === '' ? '' : ` (the line reads '${p.excerpt}')`;
    throw new UserInputError(
      'TRACE_INVALID',
      `trace ${tracePath}:${p.line}:${p.column}: not JSON: ${p.message}${hint}${shown}`,
    );
  }
}

/** A trace and a simulate config document, read once for every policy that runs them. */
interface SimulationInputs {
  readonly tracePath: string;
  readonly trace: Trace;
  readonly configGiven?: string;
  readonly configPath: string;
  readonly configDoc: unknown;
  readonly catalogue: Catalogue;
  /** The scaler flags given, laid over the file's `scaler:` section (none given: undefined). */
  readonly flags?: ScalerFlagSection;
}

/** Loads a trace file and a simulate config file (the shipped cluster without one). */
async function readInputs(
  tracePath: string,
  configGiven: string | undefined,
  cataloguePath: string | undefined,
  scalerFlags: ScalerSettingFlags | undefined,
): Promise<SimulationInputs> {
  const trace = parseTrace(traceJson(await readText(tracePath, 'trace'), tracePath), tracePath);
  const configPath = configGiven ?? join(packageRoot(), DEFAULT_CLUSTER);
  let configDoc: unknown;
  try {
    configDoc = yaml().parse(await readText(configPath, 'config'));
  } catch (e) {
    if (e instanceof UserInputError) throw e;
    throw new UserInputError(
      'CONFIG_INVALID',
      `config ${configPath} is not YAML: ${yamlProblem((e as Error).message)}`,
    );
  }
  const catalogue = await readCatalogue(cataloguePath);
  const flags = scalerFlags && overFile(scalerFlags, configDoc);
  return { tracePath, trace, configGiven, configPath, configDoc, catalogue, flags };
}

/** Toil's scaler flags as `toil run` takes them, and `--objective`, which sets scaler.objective. */
export interface ScalerSettingFlags extends AutoscalingFlags {
  objective?: string;
}

/**
 * The flags laid over the file's `scaler:` section (flags win, as in `toil run`); undefined when
 * none was given or the file's section is no mapping (its own check names that).
 */
function overFile(f: ScalerSettingFlags, doc: unknown): ScalerFlagSection | undefined {
  if (autoscalingFlagsGiven(f).length === 0 && f.objective === undefined) return undefined;
  const file = isMapping(doc) ? doc['scaler'] : undefined;
  if (file !== undefined && !isMapping(file)) return undefined;
  const flags = scalerSectionOverFile(f, file ?? {});
  if (f.objective === undefined) return flags;
  return {
    ...flags,
    section: { ...flags.section, objective: f.objective },
    origin: new Map([...flags.origin, ['objective', `--objective ${f.objective}`]]),
  };
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * The config's problems with each one a flag caused said against that flag: one that only flags
 * caused is one line (`--maxNodes 0: …`), as `toil run` says it.
 */
function againstFlags<T>(flags: ScalerFlagSection | undefined, source: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (!(e instanceof ConfigError) || flags === undefined) throw e;
    const problems = e.problems.map((p) => problemOfFlag(p, flags));
    if (problems.every((p, i) => p !== e.problems[i])) throw flagError(problems);
    throw new ConfigError(source, problems);
  }
}

/**
 * The config as `policy` (the file's when no flag chose one) runs it, checked against the trace:
 * a job arriving after the simulation ends, or one no node type can run, is refused before it runs.
 */
function configFor(inputs: SimulationInputs, policy: PolicyChoice | undefined): SimulateConfig {
  const { configDoc, configPath, configGiven, catalogue, trace, tracePath, flags } = inputs;
  const doc = flags ? { ...(isMapping(configDoc) ? configDoc : {}), scaler: flags.section } : configDoc;
  const config = withLeaderConfigHint(configDoc, configPath, () =>
    againstFlags(flags, configPath, () =>
      parseSimulateConfig(doc, catalogue, configPath, policy, flags?.nodeTypesFromFlags),
    ),
  );
  const { maxSeconds } = config.simulation;
  // A job arriving after the simulation ends would only ever be listed as "never arrived".
  const late = trace.jobs.find((j) => j.arrival >= maxSeconds);
  if (late)
    throw new UserInputError(
      'TRACE_INVALID',
      `trace ${tracePath}: job ${late.id} arrives at ${formatDuration(late.arrival * 1000)}, not before the simulation ends ` +
        `(simulation.maxDuration ${formatDuration(maxSeconds * 1000)}): give a longer maxDuration in the ` +
        `simulation: section of ${configGiven === undefined ? 'a --config file' : configPath}`,
    );
  refuseUnrunnable(
    trace,
    tracePath,
    config.scaler,
    flags?.nodeTypesFromFlags
      ? '--nodeTypes'
      : `scaler.nodeTypes in ${configGiven ?? `the shipped ${DEFAULT_CLUSTER} (or --config FILE)`}`,
  );
  return config;
}

/**
 * Node types given by flags replace the config's, and its weather for the types they drop is left
 * out (see parseSimulateConfig): said, for the run then differs from the config's own in more
 * than its node types.
 */
function tellLeftOut(
  inputs: SimulationInputs,
  config: SimulateConfig,
  notice: ((line: string) => void) | undefined,
): void {
  const { types, capacityRefusals, spotPrices } = config.weatherLeftOut;
  if (types.length === 0) return;
  const file = inputs.configGiven ?? `the shipped ${DEFAULT_CLUSTER}`;
  const entries = [
    ...(capacityRefusals > 0 ? [counted(capacityRefusals, 'capacity refusal')] : []),
    ...(spotPrices > 0 ? [counted(spotPrices, 'spot price')] : []),
  ];
  notice?.(
    `the node types are the flags', so ${file}'s ${entries.join(' and ')} for ${types.join(', ')}, ` +
      `which the run does not use, ${capacityRefusals + spotPrices === 1 ? 'is' : 'are'} left out`,
  );
}

function counted(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

/**
 * Without --config, the cluster the run simulates, as the run uses it: the shipped file's, with
 * whatever flags replaced in its scaler: section (--nodeTypes, --maxNodes) named, so a script's
 * log says which cluster its figures are for.
 */
function tellShippedCluster(
  inputs: SimulationInputs,
  scaler: ScalerConfig,
  notice: ((line: string) => void) | undefined,
): void {
  if (inputs.configGiven !== undefined) return;
  const given = [...(inputs.flags?.nodeTypeOrigin ?? []), ...(inputs.flags?.origin.values() ?? [])];
  const flags = [...new Set(given.flatMap((g) => /^--\w+/.exec(g ?? '') ?? []))];
  notice?.(
    `no --config: simulating the shipped ${DEFAULT_CLUSTER}${flags.length > 0 ? ` with ${flags.join(', ')} over its scaler: section` : ''} ` +
      `(${clusterShape(scaler)}); give --config FILE for yours`,
  );
}

/** "2 node types, c5.2xlarge:0.3 and c5.2xlarge (1 spot, 1 on-demand), maxNodes 10 each". */
function clusterShape(scaler: ScalerConfig): string {
  const types = scaler.nodeTypes;
  const spot = types.filter((n) => n.capacityType === 'spot').length;
  const kinds =
    spot === types.length
      ? 'spot'
      : spot === 0
        ? 'on-demand'
        : `${spot} spot, ${types.length - spot} on-demand`;
  const maxes = types.map((n) => n.maxNodes);
  const max = maxes.every((m) => m === maxes[0])
    ? `maxNodes ${maxes[0]}${types.length > 1 ? ' each' : ''}`
    : `maxNodes ${maxes.join(',')}`;
  return `${counted(types.length, 'node type')}, ${types.map((n) => n.label).join(', ')} (${kinds}), ${max}`;
}

/** `--policy NAME`: the config is checked for the policy the flag chose, not the file's. */
function chosenByFlag(name: PolicyName): PolicyChoice {
  return {
    name,
    unhonouredLimit: `--policy ${name} does not honour it (Toil has no such limit); remove it, or use --policy cost`,
  };
}

/**
 * `--compare`'s two runs. Toil-classic keeps none of the cost policy's extra limits, so a config
 * that sets one would have the ratios compare a limited cluster with an unlimited one: it is
 * refused before either run starts.
 */
const COMPARED_CLASSIC: PolicyChoice = {
  name: 'toil-classic',
  unhonouredLimit:
    '--compare runs toil-classic, which does not honour it (Toil has no such limit), so its ratios would ' +
    'compare different limits; remove it to compare the two policies',
};

/** Loads a trace file and a simulate config file (the shipped cluster without one) and runs the simulation. */
export async function runSimulation(
  tracePath: string,
  configGiven?: string,
  options: {
    policy?: PolicyName;
    seed?: number;
    cataloguePath?: string;
    /** Toil's scaler flags, over the config's `scaler:` section. */
    scalerFlags?: ScalerSettingFlags;
    /** Told how far the run is, per policy (see progressReporter). */
    progress?: (policy: PolicyName) => (p: SimulationProgress) => void;
    /**
     * Told, in a line, of the config's weather the run left out (see tellLeftOut) and, without
     * --config, of the shipped cluster it simulates (said where a script reading --json does not
     * look: the cluster decides the figures).
     */
    notice?: (line: string) => void;
  } = {},
): Promise<SimulationResult> {
  const inputs = await readInputs(tracePath, configGiven, options.cataloguePath, options.scalerFlags);
  const policy = options.policy === undefined ? undefined : chosenByFlag(options.policy);
  const config = configFor(inputs, policy);
  const { scaler, simulation } = config;
  tellShippedCluster(inputs, scaler, options.notice);
  tellLeftOut(inputs, config, options.notice);
  return simulate(inputs.trace, scaler, simulation, {
    seed: options.seed,
    onProgress: options.progress?.(scaler.policy),
  });
}

/** `--compare`: the trace with the cost policy and with toil-classic, on the same cluster and seed. */
export async function runComparison(
  tracePath: string,
  configGiven?: string,
  options: {
    seed?: number;
    cataloguePath?: string;
    /** Toil's scaler flags, over the config's `scaler:` section: both policies run on them. */
    scalerFlags?: ScalerSettingFlags;
    progress?: (policy: PolicyName) => (p: SimulationProgress) => void;
    notice?: (line: string) => void;
  } = {},
): Promise<{ cost: SimulationResult; classic: SimulationResult }> {
  const inputs = await readInputs(tracePath, configGiven, options.cataloguePath, options.scalerFlags);
  const cost = configFor(inputs, chosenByFlag('cost'));
  const classic = configFor(inputs, COMPARED_CLASSIC);
  // Both runs have the same cluster: one line says it of both.
  tellShippedCluster(inputs, cost.scaler, options.notice);
  tellLeftOut(inputs, cost, options.notice);
  const { seed, progress } = options;
  return {
    cost: simulate(inputs.trace, cost.scaler, cost.simulation, { seed, onProgress: progress?.('cost') }),
    classic: simulate(inputs.trace, classic.scaler, classic.simulation, {
      seed,
      onProgress: progress?.('toil-classic'),
    }),
  };
}

/** A leader config given as the simulate config: its leader keys are named as such, with what to give instead. */
function withLeaderConfigHint<T>(doc: unknown, source: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    const leaderKeys =
      doc !== null && typeof doc === 'object' ? Object.keys(doc).filter((k) => LEADER_ONLY_KEYS.has(k)) : [];
    if (!(e instanceof ConfigError) || leaderKeys.length === 0) throw e;
    throw new ConfigError(source, [
      ...e.problems,
      `${leaderKeys.join(', ')}: keys of a leader config (toil leader --config); ` +
        'toil simulate takes a file with its scaler: section (copied as it is) and an optional simulation: section',
    ]);
  }
}

const ENDED: Readonly<Record<SimulationResult['ended'], string>> = {
  finished: '',
  stuck: ' — DID NOT FINISH: stopped early, nothing could change any more',
  maxDuration: " — DID NOT FINISH within the simulation's maxDuration",
};

/** Groups of jobs that never ran shown in the text report; --json has every one. */
const NEVER_RAN_SHOWN = 20;

export function formatResult(r: SimulationResult): string {
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  const shown = r.neverRan.slice(0, NEVER_RAN_SHOWN);
  const rest = r.neverRan.slice(NEVER_RAN_SHOWN);
  const neverRan = shown.map(
    (g) =>
      `    ${g.count} × '${g.jobName}' (${g.jobIds.join(', ')}${g.count > g.jobIds.length ? ', …' : ''}): ${g.reason}`,
  );
  if (rest.length > 0)
    neverRan.push(
      `    … and ${rest.reduce((n, g) => n + g.count, 0)} more job(s) in ${rest.length} more group(s) (--json lists them all)`,
    );
  return [
    `trace ${r.trace}, policy ${r.policy}, seed ${r.seed}${ENDED[r.ended]}`,
    `  cost                 $${r.cost.toFixed(2)} (spot $${r.costByPool.spot.toFixed(2)}, on-demand $${r.costByPool.onDemand.toFixed(2)})`,
    `  makespan             ${r.makespan} s (${(r.makespan / 3600).toFixed(2)} h)`,
    `  node-hours           spot ${r.nodeHours.spot.toFixed(2)}, on-demand ${r.nodeHours.onDemand.toFixed(2)}`,
    `  mean utilisation     ${pct(r.meanUtilisation)} of billed cores`,
    `  jobs                 ${r.jobs}, re-run after interruption ${r.rerunsAfterInterruption} (${r.interruptions} interruptions)`,
    `  worst queue wait     ${r.worstQueueWait} s`,
    `  nodes launched       ${r.nodesLaunched} (${r.launchRefusals} launch requests refused, ${r.bootFailures} never registered)`,
    `  drains               ${r.drains}, ${r.takeBacks} taken back by a later plan`,
    ...(neverRan.length > 0 ? ['  jobs that never ran', ...neverRan] : []),
  ].join('\n');
}

/** The cost policy's run against toil-classic's on the same trace and cluster (`--compare`). */
export function formatComparison(cost: SimulationResult, classic: SimulationResult): string {
  if (!cost.finished || !classic.finished)
    return `compared: no ratios, as ${[cost, classic]
      .filter((r) => !r.finished)
      .map((r) => r.policy)
      .join(' and ')} did not finish`;
  const ratio = (a: number, b: number): string => (b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a');
  return [
    `compared: the cost policy against toil-classic (Toil's own algorithm), same trace, cluster and seed`,
    `  cost                 ${ratio(cost.cost, classic.cost)} ($${cost.cost.toFixed(2)} against $${classic.cost.toFixed(2)})`,
    `  makespan             ${ratio(cost.makespan, classic.makespan)} (${(cost.makespan / 3600).toFixed(2)} h against ${(classic.makespan / 3600).toFixed(2)} h)`,
    `  nodes launched       ${ratio(cost.nodesLaunched, classic.nodesLaunched)} (${cost.nodesLaunched} against ${classic.nodesLaunched})`,
    `  drains taken back    ${cost.takeBacks} against ${classic.takeBacks}`,
  ].join('\n');
}

export const command: SubCommand = {
  register(program, setExitCode) {
    const cmd = program
      .command('simulate')
      .description(
        'Run a workflow trace through a simulated cluster on a simulated clock and report cost and time.',
      )
      .argument('<trace>', `trace file (JSON: ${traceFields()}; docs/scaler.md, "Simulator")`)
      .option(
        '--config <file>',
        `YAML with a scaler: section and a simulation: section (default: ${DEFAULT_CLUSTER_IS})`,
      )
      .option('--policy <name>', `scaling policy: ${POLICIES.join(' or ')} (default: the config's)`)
      .option(
        '--objective <name>',
        `the cost policy's objective: ${OBJECTIVES.join(', ')} (scaler.objective; default: the config's)`,
      )
      .option('--seed <n>', "random seed for boot jitter and spot interruptions (default: the config's)")
      .option(
        '--compare',
        "run the trace with both the cost policy and toil-classic (Toil's algorithm) and print the ratios",
      )
      .option('--json', 'print the result as one JSON line (with --compare: {cost, toilClassic})')
      .optionsGroup(
        "Toil's scaler flags, as toil run takes them; each wins over its key in the config's scaler: section:",
      );
    addForeignOptions(addScalerOptions(cmd), REMOVED_SCALER_OPTIONS)
      .addHelpText(
        'after',
        "\n--bootTime is how long the scaler expects a boot to take; the simulated boot is the config's simulation.bootTime." +
          "\n--nodeTypes, --nodeType and --preemptableNodeType replace the config's node types: its capacity refusals and " +
          'spot prices for types the run does not use are left out (said on stderr), and the types run keep theirs, or calm weather.\n',
      )
      .action(
        async (
          tracePath: string,
          opts: ScalerSettingFlags & {
            config?: string;
            policy?: string;
            seed?: string;
            json?: boolean;
            compare?: boolean;
          },
        ) => {
          // Each is refused (exit 2, saying what to give instead); the table ignores none.
          checkForeignOptions(opts, REMOVED_SCALER_OPTIONS);
          if (opts.compare && opts.policy !== undefined)
            throw new UserInputError(
              'BAD_FLAG',
              `--compare runs both policies (cost and toil-classic); drop --policy ${opts.policy}`,
            );
          if (opts.policy !== undefined && !POLICIES.includes(opts.policy as PolicyName))
            throw new UserInputError(
              'BAD_FLAG',
              `--policy must be one of ${POLICIES.join(', ')}, got "${opts.policy}"`,
            );
          let seed: number | undefined;
          if (opts.seed !== undefined) {
            seed = Number(opts.seed);
            if (!Number.isInteger(seed))
              throw new UserInputError('BAD_FLAG', `--seed must be an integer, got "${opts.seed}"`);
          }
          const progress = (policy: PolicyName) =>
            progressReporter(`policy ${policy}`, (line) => process.stderr.write(`${line}\n`));
          const notice = (line: string) => process.stderr.write(`toil simulate: ${line}\n`);
          if (opts.compare) {
            const { cost, classic } = await runComparison(tracePath, opts.config, {
              seed,
              progress,
              notice,
              scalerFlags: opts,
            });
            process.stdout.write(
              opts.json
                ? `${JSON.stringify({ cost, toilClassic: classic })}\n`
                : `${formatResult(cost)}\n${formatResult(classic)}\n${formatComparison(cost, classic)}\n`,
            );
            setExitCode(cost.finished && classic.finished ? 0 : 1);
            return;
          }
          const result = await runSimulation(tracePath, opts.config, {
            policy: opts.policy as PolicyName | undefined,
            seed,
            progress,
            notice,
            scalerFlags: opts,
          });
          process.stdout.write(opts.json ? `${JSON.stringify(result)}\n` : `${formatResult(result)}\n`);
          setExitCode(result.finished ? 0 : 1);
        },
      );
  },
};
