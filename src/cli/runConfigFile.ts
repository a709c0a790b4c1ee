import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Command, Option } from 'commander';
import { UserInputError } from '../common/errors.js';
import { yamlProblem } from '../common/configErrors.js';
import { yaml } from '../common/yaml.js';
import { suggestNames } from '../common/suggest.js';
import { isLevelSwitch } from './logLevelSwitches.js';

/**
 * Toil's config file for `toil run` (Toil's docs, "The Config File"): a YAML mapping of option
 * names (the flag without its dashes, `defaultMemory: 80Gi`) to values. An option takes its value
 * from, first to last: the command line, an environment variable Toil names for it, the file
 * `--config` names, `$HOME/.toil/default.yaml`, the built-in default.
 */

/** Where Toil keeps its default config file (toil-ts reads it when present; it makes none). */
export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.HOME ?? homedir(), '.toil', 'default.yaml');
}

/** Options an environment variable sets when the command line does not: the variable wins over a file. */
const ENV_OVER_FILE: Readonly<Record<string, readonly string[]>> = {
  workDir: ['TOIL_WORKDIR', 'TOIL_WORKDIR_OVERRIDE'],
  zone: ['TOIL_AWS_ZONE'],
};

/** Keys Toil writes that are not options. */
const NOT_OPTIONS = new Set(['config_version']);

/**
 * What Toil's `toil config` writes (Toil's generate_config: every option at its default) for the
 * keys that, set, would print a line here (an option toil-ts has no use for says so) or be refused,
 * each as `asWritten` reads it back. At that value a key is Toil's default, not a request: passed
 * over in silence, and toil-ts's own default, the counterpart of Toil's, holds. Another value is
 * applied, and noted, as from the command line.
 */
const TOIL_WRITTEN_DEFAULTS: Readonly<Record<string, string>> = {
  // Toil writes its --logTrace switch with the log level's default, and the job store it takes
  // as an argument (toil run's too) as `jobstore`, empty.
  logTrace: 'INFO',
  jobstore: '',
  logColors: 'true',
  realTimeLogging: 'false',
  coalesceStatusCalls: 'true',
  statePollingTimeout: '1200',
  jobStoreTimeout: '30',
  rescueJobsFrequency: '60',
  deadlockCheckInterval: '30',
  statusWait: '3600',
  forceDockerAppliance: 'false',
  disableAutoDeployment: 'false',
  disableChaining: 'false',
  symlinkImports: 'true',
  moveOutputs: 'false',
  symlinkJobStoreReads: 'true',
  disableJobStoreChecksumVerification: 'false',
  cleanWorkDir: 'always',
  // With --stats, a --clean other than never is said to be overridden (run.ts); Toil's file holds
  // its default, no request.
  clean: 'onSuccess',
  mesosName: 'toil',
  retryBackoffSeconds: '2',
  retryBackoffFactor: '3',
  badWorker: '0',
  badWorkerFailInterval: '0.01',
  defaultWalltime: '0',
  defaultAccelerators: '[]',
  kubernetesPodTimeout: '120',
  kubernetesPrivileged: 'false',
  // Notes a single_machine run would print; at these values, toil-ts's defaults are Toil's.
  writeLogsFromAllJobs: 'false',
  maxLogFileSize: '104857600',
  minNodes: '[0]',
  preemptibleCompensation: '0',
  slurmArgs: '',
  slurmAllocateMem: 'true',
};

/** A config file's value as TOIL_WRITTEN_DEFAULTS holds it (`0.0` reads back as 0, so `0`). */
function asWritten(v: unknown): string | undefined {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return `[${v.map((x) => asWritten(x)).join(',')}]`;
  if (typeof v === 'object') return Object.keys(v).length === 0 ? '{}' : undefined;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  return typeof v === 'string' ? v : undefined;
}

/** The file's mapping; `undefined` when an optional file is absent. Throws UserInputError for a bad one. */
export function readConfigFile(path: string, optional = false): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (optional && code === 'ENOENT') return undefined;
    throw new UserInputError(
      'CONFIG_UNREADABLE',
      `--config ${path}: cannot read it (${code ?? (e as Error).message}); expected a YAML file of toil run options`,
    );
  }
  // Whole numbers as written: Toil's sys.maxsize (its `toil config` writes it for maxCores) as a
  // JS number is 2^63, and an option would get 9223372036854776000.
  const doc = yaml().parseDocument(text, { intAsBigInt: true });
  if (doc.errors.length > 0)
    throw new UserInputError(
      'CONFIG_UNREADABLE',
      `${path}: not valid YAML: ${yamlProblem(doc.errors[0]!.message)}`,
    );
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value))
    throw new UserInputError(
      'CONFIG_INVALID',
      `${path}: expected a mapping of toil run options (e.g. 'defaultMemory: 80Gi'), not ${Array.isArray(value) ? 'a list' : 'a single value'}`,
    );
  return value as Record<string, unknown>;
}

/**
 * Sets the options `values` names on `cmd` where nothing stronger did (the command line, an
 * earlier file, an environment variable Toil names). `strict`: a key that is no option of the
 * command is refused (the file the user named); otherwise it is returned, for a notice.
 */
export function applyConfigValues(
  cmd: Command,
  values: Readonly<Record<string, unknown>>,
  path: string,
  strict: boolean,
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  const byName = new Map<string, Option>();
  for (const o of cmd.options) if (o.long) byName.set(o.long.slice(2), o);
  const unknown: string[] = [];
  for (const [key, raw] of Object.entries(values)) {
    if (NOT_OPTIONS.has(key)) continue;
    if (key in TOIL_WRITTEN_DEFAULTS && asWritten(raw) === TOIL_WRITTEN_DEFAULTS[key]) continue;
    const option = byName.get(key) ?? byName.get(key.replace(/^--?/, ''));
    if (!option || option.long === '--config') {
      if (strict && key.toLowerCase() === 'jobstore')
        throw new UserInputError(
          'CONFIG_INVALID',
          `${path}: jobstore: ${JSON.stringify(asWritten(raw))}: the job store is toil run's argument (toil run WORKFLOW JOBSTORE), which a config file does not set (Toil writes this key empty); give it on the command line`,
        );
      if (strict) {
        const hint = suggestNames(key, [...byName.keys()]);
        throw new UserInputError(
          'CONFIG_INVALID',
          `${path}: ${key} is not a toil run option${hint.length > 0 ? ` (did you mean ${hint.join(', ')}?)` : ''}; expected option names as Toil's config file writes them, e.g. defaultMemory`,
        );
      }
      unknown.push(key);
      continue;
    }
    if (raw === null || raw === undefined) continue; // `key:` with no value: the default
    const name = option.attributeName();
    const source = cmd.getOptionValueSource(name);
    if (source === 'cli' || source === 'env' || source === 'config') continue;
    // A level typed (`--logLevel` or a `--log<Level>` switch, which sets logLevel as it is read)
    // is the level asked for: a file's (Toil's `toil config` writes `logLevel: INFO`, or a
    // `logDebug: true`) must not silence it.
    if (isLevelSwitch(option) && cmd.getOptionValueSource('logLevel') === 'cli') continue;
    if ((ENV_OVER_FILE[name] ?? []).some((v) => env[v]?.trim())) continue;
    const value = optionValue(option, raw, `${path}: ${key}`);
    if (value === undefined) continue;
    cmd.setOptionValueWithSource(name, value, 'config');
    const from = setByFile.get(cmd) ?? new Map<string, string>();
    from.set(option.long!, `${path}: ${key}`);
    setByFile.set(cmd, from);
    if (!strict) {
      const machine = setByDefaultFile.get(cmd) ?? new Set<string>();
      machine.add(name);
      setByDefaultFile.set(cmd, machine);
    }
  }
  return unknown;
}

/** Per command, the options a config file set (by `--long`), with the file and key that did. */
const setByFile = new WeakMap<Command, Map<string, string>>();

/** The config file and key that set option `long` (`--clean`) of `cmd`, if a file did. */
export function configFileOrigin(cmd: Command, long: string): string | undefined {
  return setByFile.get(cmd)?.get(long);
}

/** Per command, the options (by attribute name) only `$HOME/.toil/default.yaml` set. */
const setByDefaultFile = new WeakMap<Command, Set<string>>();

/**
 * Clears from `flags` those of `names` only `$HOME/.toil/default.yaml` set, and returns them. That
 * file holds this machine's defaults for every run, not a request of this one: a mode that cannot
 * honour such an option (a submission to a leader daemon) leaves it out rather than refuse the run.
 */
export function leaveOutDefaultFileValues<F extends object>(
  cmd: Command,
  flags: F,
  names: readonly (keyof F & string)[],
): string[] {
  const machine = setByDefaultFile.get(cmd);
  const left = names.filter((n) => machine?.has(n) === true && flags[n] !== undefined);
  for (const n of left) {
    flags[n] = undefined as F[typeof n];
    cmd.setOptionValueWithSource(n, undefined, 'default');
  }
  return left;
}

/**
 * A value from a config file is checked where its option is read, whose message names the flag
 * (`--retryCount lots: expected …`) as if typed: this adds the file and key it came from, to the
 * message or, when it lists several problems (`  - --betaInertia 5: expected …`), to each line
 * whose flag the file set.
 */
export function namingConfigFileErrors<A extends unknown[]>(
  cmd: Command,
  action: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      await action(...args);
    } catch (e) {
      if (!(e instanceof UserInputError)) throw e;
      const byFile = setByFile.get(cmd);
      let named = false;
      const lines = e.message.split('\n').map((line) => {
        const flag = /^(?: {2}- )?(--[A-Za-z][\w-]*)(?=[ :])/.exec(line)?.[1];
        const where = flag === undefined ? undefined : byFile?.get(flag);
        if (where === undefined) return line;
        named = true;
        return `${line} (set in ${where})`;
      });
      if (!named) throw e;
      throw new UserInputError(e.code, lines.join('\n'), { ...e.details });
    }
  };
}

function optionValue(option: Option, given: unknown, where: string): unknown {
  const raw = option.attributeName() === 'setEnv' ? setEnvEntries(given, where) : given;
  const scalars = (Array.isArray(raw) ? raw : [raw]).map((v) => {
    if (v !== null && typeof v === 'object')
      throw new UserInputError('CONFIG_INVALID', `${where}: expected a value, not a mapping`);
    // YAML reads 1e400 and .inf as infinity, which no option takes (Toil's int() refuses it too).
    if (typeof v === 'number' && !Number.isFinite(v))
      throw new UserInputError(
        'CONFIG_INVALID',
        `${where}: got a number out of range (read as ${String(v)}); expected a finite number`,
      );
    return String(v);
  });
  const takesValue = option.required || option.optional;
  if (!takesValue) {
    // A switch: true turns it on, false leaves it off.
    const on = scalars.length === 1 ? /^(true|yes|1)$/i.test(scalars[0]!) : false;
    if (!on && !/^(false|no|0)$/i.test(scalars[0] ?? ''))
      throw new UserInputError('CONFIG_INVALID', `${where}: expected true or false, not ${String(raw)}`);
    return on ? true : undefined;
  }
  if (Array.isArray(raw) && !option.variadic && !option.parseArg)
    throw new UserInputError('CONFIG_INVALID', `${where}: expected one value, not a list`);
  if (option.argChoices && !scalars.every((s) => option.argChoices!.includes(s)))
    throw new UserInputError(
      'CONFIG_INVALID',
      `${where}: ${scalars.join(', ')}: expected one of ${option.argChoices.join(', ')}`,
    );
  if (option.parseArg) {
    let acc: unknown = option.defaultValue;
    for (const s of scalars) acc = option.parseArg(s, acc);
    return acc;
  }
  return option.variadic ? scalars : scalars[0];
}

/**
 * Toil's config file holds `setEnv` as a mapping of names to values (`setEnv: {FOO: bar}`; Toil's
 * `toil config` writes `setEnv: {}`), a null value meaning this environment's, as `--setEnv NAME`
 * does: the mapping becomes the NAME=VALUE entries the flag takes. A list of them is taken as is.
 */
function setEnvEntries(raw: unknown, where: string): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  return Object.entries(raw).map(([name, value]) => {
    if (value !== null && typeof value === 'object')
      throw new UserInputError(
        'CONFIG_INVALID',
        `${where}: ${name}: expected a value for the variable, not ${Array.isArray(value) ? 'a list' : 'a mapping'}`,
      );
    return value === null || value === undefined ? name : `${name}=${String(value)}`;
  });
}

/** Applies `--config FILE` (strict) and then `$HOME/.toil/default.yaml` (if present) to `cmd`. */
export function applyRunConfigFiles(cmd: Command, warn: (line: string) => void): void {
  const given = cmd.getOptionValue('config') as string | undefined;
  if (given !== undefined) applyConfigValues(cmd, readConfigFile(given) ?? {}, given, true);
  const fallback = defaultConfigPath();
  const defaults = readConfigFile(fallback, true);
  if (!defaults) return;
  const unknown = applyConfigValues(cmd, defaults, fallback, false);
  if (unknown.length > 0)
    warn(
      `toil: ${fallback}: ${unknown.join(', ')} ${unknown.length === 1 ? 'is no toil run option; it is' : 'are no toil run options; they are'} ignored`,
    );
}

/**
 * Toil's `toil config FILE`: every visible option of `cmd` with its default, commented out, to
 * uncomment and set. Written beside FILE and renamed into place, so no reader sees half of it.
 */
export function writeConfigTemplate(cmd: Command, path: string): number {
  const lines = [
    '# The configuration file for toil run. To set an option, uncomment it and set its value;',
    '# the values shown are the defaults. Use it with `toil run --config FILE ...`, or keep it as',
    '# $HOME/.toil/default.yaml. Options on the command line win over this file.',
    'config_version: 1.0',
    '',
  ];
  let count = 0;
  for (const o of cmd.options) {
    if (o.hidden || !o.long || o.long === '--config' || o.long === '--help') continue;
    const key = o.long.slice(2);
    lines.push(`# ${o.description.replace(/\s+/g, ' ')}`);
    const d: unknown = o.required || o.optional ? o.defaultValue : false;
    // Defaults are strings, booleans and empty lists (repeatable options).
    const text = typeof d === 'string' || typeof d === 'boolean' || typeof d === 'number' ? String(d) : '';
    const shown =
      text === '' ? '' : /^[A-Za-z0-9._:/-]+$/.test(text) ? ` ${text}` : ` ${JSON.stringify(text)}`;
    lines.push(`#${key}:${shown}`, '');
    count++;
  }
  const partial = join(dirname(path), `.${Date.now()}-${process.pid}.partial.yaml`);
  try {
    writeFileSync(partial, `${lines.join('\n')}`);
    renameSync(partial, path);
  } catch (e) {
    // A rename refused (the path a directory, say) left the partial file beside it.
    rmSync(partial, { force: true });
    throw new UserInputError('BAD_FLAG', `toil config ${path}: cannot write it (${(e as Error).message})`);
  }
  return count;
}
