import { ConfigError } from '../common/configErrors.js';
import { UserInputError } from '../common/errors.js';
import { decimalNumber } from '../common/units.js';
import {
  parseNodeTypesString,
  parseScalerConfig,
  SCALER_KEY_ALIASES,
  type ScalerConfig,
} from '../scaler/config.js';
import type { Catalogue } from '../scaler/catalogue.js';
import { SCALER_FIELD_FLAGS, type AutoscalingFlags } from './runAutoscaledOptions.js';
import { parseBool, parseCount } from './run.js';

/**
 * Toil's autoscaling flags as the scaler section of the leader config, and back: every problem the
 * config finds is reported against the flag the user typed (`--nodeTypes t2.mediu: unknown
 * instance type …`), never against a config path (`scaler.nodeTypes[0]`) they never wrote.
 */
export interface ScalerFlagSection {
  /** The `scaler:` section the flags amount to (what a leader config file would hold). */
  readonly section: Record<string, unknown>;
  /** For each field of the section, the flag and the text that set it. */
  readonly origin: ReadonlyMap<string, string>;
  /** For each entry of `section.nodeTypes`, the flag and the text that gave it (none: a file's). */
  readonly nodeTypeOrigin: readonly (string | undefined)[];
  /** The node types are the flags' (--nodeTypes, --nodeType, --preemptableNodeType), not a file's. */
  readonly nodeTypesFromFlags: boolean;
}

/** The scaler section from Toil's flags, remembering which flag set what. */
export function scalerSectionFromFlags(f: AutoscalingFlags, zone: string): ScalerFlagSection {
  const { nodeTypes, nodeTypeOrigin } = nodeTypesFromFlags(f);
  if (nodeTypes.length === 0)
    throw new UserInputError(
      'BAD_FLAG',
      '--provisioner aws needs --nodeTypes, --nodeType or --preemptableNodeType',
    );
  return {
    ...withFieldFlags(f, { region: zone.slice(0, -1), zones: [zone], nodeTypes }, nodeTypeOrigin),
    nodeTypesFromFlags: true,
  };
}

/**
 * Toil's scaler flags laid over a config file's `scaler:` section (`toil simulate --config`): a
 * flag wins over the file's key, as in `toil run`, and node types given by flags replace the
 * file's list. Keys the flags leave alone are the file's, and a problem with one names its path.
 */
export function scalerSectionOverFile(
  f: AutoscalingFlags,
  file: Readonly<Record<string, unknown>>,
): ScalerFlagSection {
  const { nodeTypes, nodeTypeOrigin } = nodeTypesFromFlags(f);
  if (nodeTypes.length > 0)
    return { ...withFieldFlags(f, { ...file, nodeTypes }, nodeTypeOrigin), nodeTypesFromFlags: true };
  return { ...withFieldFlags(f, { ...file }, []), nodeTypesFromFlags: false };
}

/** The node types --nodeTypes, --nodeType and --preemptableNodeType give (none: empty lists). */
function nodeTypesFromFlags(f: AutoscalingFlags): { nodeTypes: unknown[]; nodeTypeOrigin: string[] } {
  const nodeTypes: unknown[] = [];
  const nodeTypeOrigin: string[] = [];
  const add = (flag: string, list: string | undefined, entry: (s: string) => unknown): void => {
    if (list === undefined || list.trim() === '') return;
    // An empty entry (`c5.large,,t2.medium`, a trailing comma) is refused, as Toil refuses it:
    // dropped, it would hand the Nth --maxNodes/--minNodes count to the type after it.
    const empty = list.split(',').findIndex((s) => s.trim() === '');
    if (empty >= 0)
      throw new UserInputError(
        'BAD_FLAG',
        `${flag} ${list}: node type ${empty + 1} is empty (expected an instance type between the commas, e.g. c5.large,t2.medium)`,
      );
    for (const s of list.split(',')) {
      nodeTypes.push(entry(s.trim()));
      nodeTypeOrigin.push(`${flag} ${s.trim()}`);
    }
  };
  add('--nodeTypes', f.nodeTypes, (s) => s);
  add('--nodeType', f.nodeType, (s) => s);
  // Toil's --nodeTypes syntax, each entry spot: read by the same parser, so a bad bid or an empty
  // type is said as --nodeTypes says it (a bid that is no number failed the whole config's shape,
  // named as scaler.nodeTypes, a path nobody typed).
  const preemptable = f.preemptableNodeType ?? f.preemptibleNodeType;
  if (preemptable !== undefined) {
    const { nodeTypes: parsed, problems } = parseNodeTypesString(preemptable);
    if (problems.length > 0)
      throw flagError(problems.map((p) => `--preemptableNodeType ${preemptable}: ${p}`));
    const texts = preemptable.split(',');
    parsed.forEach(({ instanceTypes, bid }, i) => {
      nodeTypes.push({ type: instanceTypes.join('/'), spot: true, ...(bid !== undefined ? { bid } : {}) });
      nodeTypeOrigin.push(`--preemptableNodeType ${texts[i]!.trim()}`);
    });
  }
  return { nodeTypes, nodeTypeOrigin };
}

/**
 * The section with the fields the flags set (SCALER_FIELD_FLAGS, --minPreemptableNodes) laid
 * over it. `nodeTypeOrigin` names the flag of each node type a flag gave (none for a file's).
 */
function withFieldFlags(
  f: AutoscalingFlags,
  section: Record<string, unknown>,
  nodeTypeOrigin: (string | undefined)[],
): Omit<ScalerFlagSection, 'nodeTypesFromFlags'> {
  const minSpot = f.minPreemptableNodes ?? f.minPreemptibleNodes;
  if (minSpot !== undefined) {
    const flag = f.minPreemptableNodes !== undefined ? '--minPreemptableNodes' : '--minPreemptibleNodes';
    // A file's Toil string ("c5.large,m5.large:0.05") is the list of its entries; any other shape
    // is left for the config's own check to name.
    const given = section['nodeTypes'] ?? [];
    const nodeTypes: unknown[] | undefined =
      typeof given === 'string'
        ? given.split(',').map((s) => s.trim())
        : Array.isArray(given)
          ? [...(given as unknown[])]
          : undefined;
    if (nodeTypes) {
      keepSpotNodes(nodeTypes, nodeTypeOrigin, flag, minSpot);
      section['nodeTypes'] = nodeTypes;
    }
  }
  const origin = new Map<string, string>();
  for (const [field, flag, value] of SCALER_FIELD_FLAGS) {
    const v = value(f);
    if (v === undefined) continue;
    origin.set(field, `${flag} ${v}`);
    section[field] = fieldValue(field, flag, v);
    // The file's other spelling of the key gives way to the flag (both would be refused).
    for (const [alias, canonical] of Object.entries(SCALER_KEY_ALIASES))
      if (canonical === field) delete section[alias];
  }
  return { section, origin, nodeTypeOrigin };
}

/**
 * Toil's older `--minPreemptableNodes N`, the fewest nodes of the one `--preemptableNodeType`: that
 * spot node type's minimum (over what --minNodes gives it). With several spot types it could mean
 * any of them, so each is given its own in --minNodes instead.
 */
function keepSpotNodes(
  nodeTypes: unknown[],
  origin: (string | undefined)[],
  flag: string,
  text: string,
): void {
  const n = parseCount(flag, text);
  const spot = nodeTypes.flatMap((entry, i) => (isSpotEntry(entry) ? [i] : []));
  // A node type of the config file is named by its path there.
  const named = (i: number): string => origin[i] ?? `scaler.nodeTypes[${i}]`;
  const typed = spot.map(named).join(', ');
  if (spot.length === 0)
    throw new UserInputError(
      'BAD_FLAG',
      `${flag} ${text}: no spot node type to keep nodes of; expected one with a bid in --nodeTypes (e.g. c5.large:0.05) or --preemptableNodeType`,
    );
  if (spot.length > 1)
    throw new UserInputError(
      'BAD_FLAG',
      `${flag} ${text}: ${spot.length} spot node types (${typed}); give each its minimum in --minNodes instead, one number per node type in their order`,
    );
  const i = spot[0]!;
  const entry = nodeTypes[i];
  nodeTypes[i] =
    typeof entry === 'string' ? { type: entry, minNodes: n } : { ...(entry as object), minNodes: n };
  origin[i] = `${named(i)} (${flag} ${text})`;
}

function isSpotEntry(entry: unknown): boolean {
  if (typeof entry === 'string') return parseNodeTypesString(entry).nodeTypes[0]?.bid !== undefined;
  return (entry as { spot?: boolean }).spot === true;
}

function fieldValue(field: string, flag: string, v: string): unknown {
  switch (field) {
    case 'maxNodes':
    case 'minNodes': {
      // One number, or one per node type (Toil's `4,2`).
      const ns = v.split(',').map((x, i, all) => {
        if (all.length > 1 && x.trim() === '')
          throw new UserInputError(
            'BAD_FLAG',
            `${flag} ${v}: entry ${i + 1} is empty; expected one whole number >= 0, or one per node type separated by commas (e.g. 4,2)`,
          );
        return parseCount(flag, x);
      });
      // A single --minNodes is Toil's list of one, padded with 0: the first node type's minimum
      // only. As a number it would be every type's, keeping that many nodes of each up for the
      // whole run. A single --maxNodes is every type's either way (Toil pads it with its first).
      return field === 'minNodes' || ns.length > 1 ? ns : ns[0];
    }
    case 'nodeStorageOverrides':
      return storageOverrides(flag, v);
    case 'assumeZeroOverhead':
      return parseBool(flag, v);
    case 'maxPreemptableNodes':
    case 'preemptableCompensation':
    case 'nodeStorage':
    case 'betaInertia': {
      const n = decimalNumber(v);
      if (!Number.isFinite(n)) throw new UserInputError('BAD_FLAG', `${flag} ${v}: expected a number`);
      return n;
    }
    case 'targetTime':
    case 'scaleInterval':
      // Toil gives these in seconds; a duration ("30s") is accepted too.
      return /^\d+(\.\d+)?$/.test(v) ? Number(v) : v;
    default:
      return v;
  }
}

/** Toil's `--nodeStorageOverrides r5.xlarge:200,c5.large:80`: GiB per instance type. */
function storageOverrides(flag: string, v: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const entry of v.split(',')) {
    const m = /^\s*([^:\s]+):(\d+(?:\.\d+)?)\s*$/.exec(entry);
    if (!m)
      throw new UserInputError(
        'BAD_FLAG',
        `${flag} ${v}: expected TYPE:GiB entries separated by commas, e.g. r5.xlarge:200,c5.large:80`,
      );
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

/**
 * Parses the scaler section the flags amount to; a problem is rethrown naming its flag: one line
 * for one problem (`toil: --nodeTypes t2.mediu: unknown instance type …`), a list for several.
 */
export function parseScalerFlags(flags: ScalerFlagSection, catalogue: Catalogue): ScalerConfig {
  try {
    return parseScalerConfig(flags.section, catalogue, { source: 'flags', path: ['scaler'] });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    throw flagError(e.problems.map((p) => problemOfFlag(p, flags)));
  }
}

/** A config problem (`scaler.nodeTypes[0]: …`) restated against the flag that caused it. */
export function problemOfFlag(problem: string, flags: ScalerFlagSection): string {
  const m = /^scaler\.(\w+)(?:\[(\d+)\])?[^:]*: (.*)$/s.exec(problem);
  if (!m) return problem;
  const [, field = '', index, message = ''] = m;
  const typed =
    field === 'nodeTypes' && index !== undefined
      ? flags.nodeTypeOrigin[Number(index)]
      : flags.origin.get(field);
  return typed ? `${typed}: ${message}` : problem;
}

export function flagError(problems: readonly string[]): UserInputError {
  if (problems.length === 1) return new UserInputError('BAD_FLAG', problems[0]!);
  return new ConfigError('these options', problems, { plural: true });
}
