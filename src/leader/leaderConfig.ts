import { z } from 'zod';
import { ConfigError, deepFreeze, describeZodIssues, yamlProblem } from '../common/configErrors.js';
import { durationMs } from '../common/configTypes.js';
import { badPortReason, isFetchBadPort } from '../common/fetchBadPorts.js';
import { answeredNameProblem, listenHostProblem } from '../common/listenHost.js';
import { yaml } from '../common/yaml.js';
import type { Catalogue } from '../scaler/catalogue.js';
import { SLURM_NAME, SLURM_TIME, SLURM_TIME_EXPECTED, jobOwnSlurmOption } from '../common/slurmSyntax.js';
import { InvalidLocatorError } from '../jobstore/errors.js';
import { parseLocator } from '../jobstore/locator.js';
import { parseScalerConfig, type ScalerConfig } from '../scaler/config.js';
import { TickSchema, type TickConfig } from '../scaler/tick/config.js';

// Said once at start wherever a leader's config is taken (the daemon, launch-cluster).
export { estimatedPricesWarning, maxHourlyCostWarning } from '../scaler/config.js';

/**
 * The leader daemon's config file (config/leader.yaml): YAML, validated once with zod, every
 * problem reported with its path, frozen. The `scaler:` section belongs to the scaler and is parsed
 * by its own `parseScalerConfig`; this module owns everything around it. Durations are written as
 * people write them ("30s", "5m") and held in milliseconds.
 */

/** `host:port` with a port in range (Mesos masters, HTTP endpoints). */
const hostPort = z
  .string()
  .regex(/^[^\s:]+:\d{1,5}$/, 'expected HOST:PORT, e.g. 10.0.0.5:5050')
  .refine((s) => Number(s.split(':')[1]) <= 65535, 'the port must be at most 65535');

/** A limit of time that must let something happen: 0s would fail every start() or every probe. */
const limitMs = () =>
  durationMs().refine((ms) => ms > 0, { message: 'expected a duration above 0 (e.g. 30s, 5m, 1h)' });

const HttpSchema = z
  .object({
    /** 127.0.0.1 unless the operator opens it up (the appliance sets 0.0.0.0). */
    host: z
      .string()
      .superRefine((host, ctx) => {
        const problem = listenHostProblem(host);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
      })
      .default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8080),
    /**
     * Names the leader is reached by beside its addresses, `localhost` and, when it listens on
     * every interface, the machine's hostname (`.example.org`: that domain and every name under
     * it). A request naming another host in its Host header is refused: a web page whose own name
     * its DNS points at this machine (DNS rebinding) would otherwise read the open routes.
     */
    allowedHosts: z
      .array(
        z.string().superRefine((name, ctx) => {
          const problem = answeredNameProblem(name);
          if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
        }),
      )
      .default([]),
    /** /healthz fails when the scaler loop has not completed a tick for this long. */
    maxTickAge: limitMs().default(300_000),
    statusPage: z.boolean().default(true),
    /**
     * Submitting and cancelling workflows always needs the bearer token; /healthz and /readyz never
     * do; these say whether the read-only routes do too. `tokenFile`: where the token is kept
     * (created on first start, mode 0600); beside a `file:` state directory by default.
     */
    auth: z
      .object({
        metrics: z.enum(['open', 'token']).default('open'),
        status: z.enum(['open', 'token']).default('open'),
        tokenFile: z.string().min(1).optional(),
      })
      .strict()
      .default({ metrics: 'open', status: 'open' }),
  })
  .strict();

/** The workflows the daemon runs: how long their own code may take, how often a run is resumed. */
const WorkflowsSchema = z
  .object({
    /** start() (imports included), from its call in its own process; killed after this. */
    startTimeout: limitMs().default(3_600_000),
    /**
     * The workflow host's process start and the module's load, before start() or finish() runs:
     * apart from those limits, so a slow start on a loaded machine is not taken for a hang.
     */
    loadTimeout: limitMs().default(300_000),
    /** finish() (exports included); killed after this. */
    finishTimeout: limitMs().default(3_600_000),
    /** A run the leader was restarted under this many times is failed, not resumed again. */
    maxResumes: z.number().int().min(0).max(100).default(3),
    /**
     * Finished runs (succeeded, failed, cancelled) the leader keeps listed and in its state, the
     * newest: an older one is forgotten as a newer one finishes, so the state does not grow with
     * the number of runs the leader has finished.
     */
    keepFinished: z.number().int().min(1).max(100_000).default(100),
  })
  .strict();

const BatchSystemSchema = z
  .object({
    /** The engine the workers run: a Mesos agent each (the default, as in Toil), or a slurmd each. */
    kind: z.enum(['mesos', 'slurm']).default('mesos'),
    /** mesos: `embedded` (the default) runs the local Mesos master in this process. */
    mesosMaster: z.union([z.literal('embedded'), hostPort]).optional(),
    /**
     * slurm: the slurm.conf of the cluster's controller (Slurm's SLURM_CONF), or `embedded` (the
     * default): a real slurmctld started by this process (root and slurm-wlm needed), with each
     * running worker of the local cloud a slurmd (docs/slurm.md).
     */
    slurmConf: z.string().min(1).optional(),
    /** slurm: the partition jobs go to (default: the cluster's default partition). */
    slurmPartition: z.string().min(1).optional(),
    /**
     * slurm: Toil's Slurm flags of `toil run`, for every workflow this leader runs: extra sbatch
     * flags (over TOIL_SLURM_ARGS where the leader runs), a job's time limit when it declares no
     * walltime, the QOS, the partition of multi-core jobs, whether to ask for memory, and where
     * each job's stdout/stderr files go (a directory every node writes to, as Toil's docs ask).
     */
    slurmArgs: z
      .string()
      .superRefine((args, ctx) => {
        // An option toil-ts sets from each job is refused as the daemon refuses it at start, so
        // `toil config check` says so first (the rest, an --exclude list, is read by the batch
        // system then).
        for (const word of args.split(/\s+/)) {
          const why = jobOwnSlurmOption(word);
          if (why !== undefined) ctx.addIssue({ code: 'custom', message: `${word}: ${why}` });
        }
      })
      .optional(),
    slurmTime: z.string().regex(SLURM_TIME, SLURM_TIME_EXPECTED).optional(),
    slurmQOS: z.string().regex(SLURM_NAME, 'expected a Slurm QOS name').optional(),
    slurmPE: z.string().regex(SLURM_NAME, 'expected a Slurm partition name').optional(),
    slurmAllocateMem: z.boolean().optional(),
    batchLogsDir: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    const foreign = b.kind === 'mesos' ? SLURM_ONLY_KEYS : (['mesosMaster'] as const);
    for (const key of foreign)
      if (b[key] !== undefined)
        ctx.addIssue({ code: 'custom', path: [key], message: `not a key of kind ${b.kind}` });
  })
  .transform((b) => {
    if (b.kind !== 'slurm') return { kind: 'mesos' as const, mesosMaster: b.mesosMaster ?? 'embedded' };
    const { kind: _k, mesosMaster: _m, slurmConf, ...slurm } = b;
    return { kind: 'slurm' as const, slurmConf: slurmConf ?? 'embedded', ...slurm };
  });

/** The batchSystem keys only kind slurm takes. */
const SLURM_ONLY_KEYS = [
  'slurmConf',
  'slurmPartition',
  'slurmArgs',
  'slurmTime',
  'slurmQOS',
  'slurmPE',
  'slurmAllocateMem',
  'batchLogsDir',
] as const;

const AwsProvisionerSchema = z
  .object({
    kind: z.literal('aws'),
    region: z.string().min(1).optional(),
    zone: z.string().regex(/^[a-z]{2}-[a-z]+-\d[a-z]$/, 'expected a zone like us-west-2a'),
    clusterName: z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/,
        'expected 1 to 63 letters, digits and dashes, beginning with a letter or digit',
      ),
    keyPairName: z.string().min(1).optional(),
    tags: z.record(z.string(), z.string()).default({}),
    /** An EC2-compatible endpoint (the local cloud, moto); the SDK's default when absent. */
    endpoint: z.url().optional(),
    /**
     * The workers' image (launch-cluster writes the one it booted the leader from); TOIL_AWS_AMI in
     * the daemon's environment wins, and without either the newest Flatcar stable is launched.
     */
    imageId: z.string().min(1).optional(),
    applianceImage: z.string().min(1).default('quay.io/ucsc_cgl/toil:latest'),
    /**
     * The workers' root volume when a launch names none; absent, the scaler's `nodeStorage`, which
     * is what every launch the scaler makes names (so what it plans with is what it gets).
     */
    nodeStorageGiB: z.number().int().positive().optional(),
  })
  .strict();

const EmbeddedProvisionerSchema = z
  .object({
    kind: z.literal('embedded'),
    clusterName: z.string().min(1).default('local'),
    zone: z.string().min(1).default('us-west-2a'),
  })
  .strict();

const CapacityRuleSchema = z
  .object({
    instanceType: z.string().min(1).optional(),
    zone: z.string().min(1).optional(),
    market: z.enum(['spot', 'on-demand']).optional(),
    remaining: z.number().int().min(0),
  })
  .strict();

const LocalCloudSchema = z
  .object({
    /** How long an instance stays `pending` before its agent starts. */
    bootDelay: durationMs().default(2000),
    shutdownDelay: durationMs().default(1000),
    faults: z
      .object({
        throttleRate: z.number().min(0).max(1).optional(),
        serverErrorRate: z.number().min(0).max(1).optional(),
        spotInterruptionRate: z.number().min(0).max(1).optional(),
        capacity: z.array(CapacityRuleSchema).optional(),
        seed: z.number().int().optional(),
      })
      .strict()
      .default({}),
  })
  .strict();

const ShutdownSchema = z
  .object({
    /** After SIGTERM: time for in-flight calls to finish before they are aborted. */
    grace: durationMs().default(30_000),
    /** Release every node this leader launched when it stops (the seed's form does; a daemon does not). */
    releaseNodes: z.boolean().default(false),
  })
  .strict();

const LeaderFileSchema = z
  .object({
    /** Where the leader keeps its own state and where submitted workflows' stores are registered. */
    jobStore: z.string().min(1).default('file:./toil-leader-state'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    http: HttpSchema.default(HttpSchema.parse({})),
    batchSystem: BatchSystemSchema.default(BatchSystemSchema.parse({})),
    provisioner: z
      .discriminatedUnion('kind', [AwsProvisionerSchema, EmbeddedProvisionerSchema])
      .default(EmbeddedProvisionerSchema.parse({ kind: 'embedded' })),
    localcloud: LocalCloudSchema.default(LocalCloudSchema.parse({})),
    shutdown: ShutdownSchema.default(ShutdownSchema.parse({})),
    tick: TickSchema.default(TickSchema.parse({})),
    workflows: WorkflowsSchema.default(WorkflowsSchema.parse({})),
    /** Checked by the scaler's own parser. */
    scaler: z.unknown().optional(),
  })
  .strict();

type LeaderFile = z.infer<typeof LeaderFileSchema>;

/** The top-level keys of a leader config besides `scaler` (to tell one apart from other files). */
export const LEADER_ONLY_KEYS: ReadonlySet<string> = new Set(
  Object.keys(LeaderFileSchema.shape).filter((k) => k !== 'scaler'),
);

/**
 * A leader config file as written (before defaults): what a generator of config files (the leader
 * appliance's user data) builds, so a key this parser would reject fails to compile there.
 * `scaler` is the scaler's section (see `parseScalerConfig`).
 */
export type LeaderConfigFile = Omit<z.input<typeof LeaderFileSchema>, 'scaler'> & {
  readonly scaler: Readonly<Record<string, unknown>>;
};

export type HttpConfig = LeaderFile['http'];
export type BatchSystemConfig = LeaderFile['batchSystem'];
export type ProvisionerConfig = LeaderFile['provisioner'];
export type LocalCloudConfig = LeaderFile['localcloud'];
export type ShutdownConfig = LeaderFile['shutdown'];
export type WorkflowsConfig = LeaderFile['workflows'];

export interface LeaderConfig {
  readonly jobStore: string;
  readonly logLevel: LeaderFile['logLevel'];
  readonly http: HttpConfig;
  readonly batchSystem: BatchSystemConfig;
  readonly provisioner: ProvisionerConfig;
  readonly localcloud: LocalCloudConfig;
  readonly shutdown: ShutdownConfig;
  readonly tick: TickConfig;
  readonly workflows: WorkflowsConfig;
  readonly scaler: ScalerConfig;
}

/**
 * The parts of a config a running leader takes on reload, because it reads them where they are
 * used: the scaler and tick sections and the log level at the next tick, the workflows' timeouts
 * at the next start or finish of a workflow, and shutdown's at the stop. The rest (the HTTP server,
 * the state's job store, the batch system, the provisioner, the local cloud) is built once at the
 * start and needs a restart.
 */
export const RELOADABLE_SECTIONS = ['scaler', 'tick', 'logLevel', 'workflows', 'shutdown'] as const;

/**
 * Parses a leader config file's text. Throws ConfigError listing every problem, each with its
 * path (`http.port: …`, `scaler.maxNodes: …`), from the YAML syntax, this file's sections and the
 * scaler section together. The result is deep-frozen.
 */
export function parseLeaderConfig(
  text: string,
  catalogue: Catalogue,
  source = 'leader config',
  checks: LeaderConfigChecks = {},
): LeaderConfig {
  let doc: unknown;
  try {
    doc = yaml().parse(text);
  } catch (e) {
    const where =
      e instanceof yaml().YAMLParseError && e.linePos
        ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}`
        : '';
    throw new ConfigError(source, [
      `${where ? `${where}: ` : ''}not valid YAML: ${yamlProblem((e as Error).message)}`,
    ]);
  }
  if (doc === null || doc === undefined) doc = {};
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new ConfigError(source, ['the file must be a mapping of sections (http:, scaler:, ...)']);
  return parseLeaderConfigObject(doc, catalogue, source, checks);
}

/** What a parse checks beyond the file's own validity. */
export interface LeaderConfigChecks {
  /**
   * The file's http.port is the one the leader serves on, so one web clients refuse is a problem
   * of the file (`toil config check`). `toil leader` leaves it out: its --port stands in for it,
   * and it refuses the port it serves on itself, in one line (src/cli/leader.ts).
   */
  readonly servedPort?: boolean;
}

/** The problem with http.port as written when it is a port web clients refuse to connect to. */
function badHttpPortProblem(doc: unknown): string | undefined {
  const http = (doc as Record<string, unknown> | null)?.['http'];
  const port =
    typeof http === 'object' && http !== null ? (http as Record<string, unknown>)['port'] : undefined;
  if (typeof port !== 'number' || !isFetchBadPort(port)) return undefined;
  return `http.port: ${badPortReason(port)}, so nothing could reach the leader there (toil leader refuses it at start); expected another port, e.g. 8080`;
}

/**
 * The scaler section as written, with what an aws provisioner already says filled in where it
 * gives nothing: `provisioner.nodeStorageGiB` as its `nodeStorage` (the disk the scaler plans each
 * node with is the one its launches ask for), and the provisioner's region (`provisioner.region`,
 * else its zone's) as its `region` and the provisioner's zone as its `zones`, as Toil launches
 * workers in the leader's zone (a config naming the cluster's zone alone is not priced, and
 * refused, as us-east-1).
 */
function withProvisionerDefaults(doc: unknown): unknown {
  const d = doc as Record<string, unknown> | null;
  const raw = d?.['scaler'];
  const p = d?.['provisioner'] as Record<string, unknown> | undefined;
  if (p?.['kind'] !== 'aws' || typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const out: Record<string, unknown> = { ...raw };
  const storage = p['nodeStorageGiB'];
  if (storage !== undefined && !('nodeStorage' in out)) out['nodeStorage'] = storage;
  const zone = typeof p['zone'] === 'string' ? p['zone'] : undefined;
  const region = typeof p['region'] === 'string' ? p['region'] : zone?.slice(0, -1);
  if (region !== undefined && !('region' in out)) out['region'] = region;
  if (zone !== undefined && !('zones' in out) && out['region'] === zone.slice(0, -1)) out['zones'] = [zone];
  return out;
}

/** Like parseLeaderConfig, for an object already read (from YAML, or built from CLI flags). */
export function parseLeaderConfigObject(
  doc: unknown,
  catalogue: Catalogue,
  source = 'leader config',
  checks: LeaderConfigChecks = {},
): LeaderConfig {
  const problems: string[] = [];
  const parsed = LeaderFileSchema.safeParse(doc);
  if (!parsed.success) problems.push(...describeZodIssues(parsed.error.issues, [], LeaderFileSchema));
  const portProblem = checks.servedPort ? badHttpPortProblem(doc) : undefined;
  if (portProblem !== undefined) problems.push(portProblem);
  const rawScaler = withProvisionerDefaults(doc);
  let scaler: ScalerConfig | undefined;
  if (rawScaler === undefined) problems.push('scaler: missing (at least scaler.nodeTypes is needed)');
  else {
    try {
      scaler = parseScalerConfig(rawScaler, catalogue, { source, path: ['scaler'] });
    } catch (e) {
      if (e instanceof ConfigError) problems.push(...e.problems);
      else throw e;
    }
  }
  if (parsed.success) {
    // Refused only when the leader opened it: `config check` called such a config OK.
    try {
      parseLocator(parsed.data.jobStore);
    } catch (e) {
      if (e instanceof InvalidLocatorError) problems.push(`jobStore: ${e.message}`);
      else throw e;
    }
  }
  if (parsed.success && scaler) {
    const p = parsed.data.provisioner;
    if (p.kind === 'aws' && p.region !== undefined && !p.zone.startsWith(p.region))
      problems.push(`provisioner.zone: ${p.zone} is not in provisioner.region ${p.region}`);
    const b = parsed.data.batchSystem;
    if (b.kind === 'slurm' && p.kind === 'embedded' && b.slurmConf !== 'embedded')
      problems.push(
        `batchSystem.slurmConf: ${b.slurmConf}: the embedded local cloud runs its own controller; expected embedded`,
      );
    const planned = (rawScaler as Record<string, unknown>)['nodeStorage'];
    if (p.kind === 'aws' && p.nodeStorageGiB !== undefined && planned !== p.nodeStorageGiB)
      problems.push(
        `provisioner.nodeStorageGiB: ${p.nodeStorageGiB} differs from scaler.nodeStorage ${String(planned)} (the scaler would plan with one disk size and launch another); give one of them`,
      );
    // Every node boots one x86_64 image (Flatcar's, as Toil's), and Toil's Mesos clusters are
    // amd64 only: EC2 refuses an x86_64 image on a Graviton type at launch, so the scaler's
    // launches of one would fail tick after tick while the jobs waited.
    if (p.kind === 'aws')
      scaler.nodeTypes.forEach((n, i) => {
        const arm = n.instanceTypes.filter((t) => t.architecture !== 'x86_64').map((t) => t.name);
        if (arm.length > 0)
          problems.push(
            `scaler.nodeTypes[${i}]: ${arm.join(', ')} ${arm.length === 1 ? 'is an arm64 instance type' : 'are arm64 instance types'}: the nodes boot an x86_64 image and a Mesos cluster runs on amd64 only, as in Toil; choose x86_64 types (c5, m5, r5 …)`,
          );
      });
    if (p.kind === 'aws' && !p.zone.startsWith(scaler.region))
      problems.push(
        `scaler.region: ${scaler.region} differs from the provisioner's zone ${p.zone} (prices would be for the wrong region)`,
      );
  }
  if (problems.length > 0 || !parsed.success || !scaler) throw new ConfigError(source, problems);
  const { scaler: _ignored, ...rest } = parsed.data;
  return deepFreeze({ ...rest, scaler });
}

/**
 * What differs between the config the leader started with and a reloaded one that a reload cannot
 * apply (needs a restart), by section.
 */
export function restartOnlyChanges(before: LeaderConfig, after: LeaderConfig): string[] {
  const changed: string[] = [];
  for (const key of Object.keys(before) as (keyof LeaderConfig)[]) {
    if ((RELOADABLE_SECTIONS as readonly string[]).includes(key)) continue;
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) changed.push(key);
  }
  return changed;
}
