/**
 * What a booting local instance reads from its user data, exactly as a real one would: the
 * Ignition config's `toil-<role>.service` unit, whose `ExecStart` runs the appliance with the
 * engine's command line: a Mesos master or agent, or `toil slurm-controller` / `toil slurm-node`.
 * The local cloud maps that command onto a local process; nothing about the node's role or engine
 * reaches it any other way. Other units that run a `toil` command the local cloud can run as it
 * is (`NODE_TOIL_COMMANDS`: the rebalance watch) are read by `parseNodeToilCommands`.
 */
export interface NodeBootSpec {
  readonly role: 'leader' | 'worker';
  readonly engine: 'mesos' | 'slurm';
  /** The appliance image the unit runs. */
  readonly image?: string;
  /**
   * For a worker: where it joins its controller, HOST:PORT (the agent's `--master`, the slurmd's
   * `--conf-server`).
   */
  readonly master?: string;
  /** For a Mesos worker: `--attributes=k:v;k:v`, parsed. */
  readonly attributes: Readonly<Record<string, string>>;
  /** For a Slurm worker: its `--feature` flags (spot, ondemand). */
  readonly features?: readonly string[];
  /** The engine's command and its flags as the unit gives them. */
  readonly args: readonly string[];
}

interface IgnitionUnit {
  name?: unknown;
  contents?: unknown;
}

/** Splits a systemd command line: whitespace-separated words, double quotes with backslash escapes. */
export function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '\\' && i + 1 < line.length) cur += line[++i];
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') {
      quoted = true;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

function flagValue(args: readonly string[], flag: string): string | undefined {
  for (const a of args) if (a.startsWith(`${flag}=`)) return a.slice(flag.length + 1);
  return undefined;
}

export function parseAttributes(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (text ?? '').split(';')) {
    const i = part.indexOf(':');
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

/** Each unit of the user data's Ignition config with its `ExecStart` words; none if it is not Ignition. */
function unitCommands(userDataBase64: string | undefined): { name: string; words: string[] }[] {
  if (!userDataBase64) return [];
  let config: { systemd?: { units?: IgnitionUnit[] } };
  try {
    config = JSON.parse(Buffer.from(userDataBase64, 'base64').toString('utf8')) as typeof config;
  } catch {
    return [];
  }
  const out: { name: string; words: string[] }[] = [];
  for (const unit of config.systemd?.units ?? []) {
    if (typeof unit.name !== 'string' || typeof unit.contents !== 'string') continue;
    const execLine = unit.contents.split('\n').find((l) => l.startsWith('ExecStart='));
    if (execLine) out.push({ name: unit.name, words: splitCommandLine(execLine.slice('ExecStart='.length)) });
  }
  return out;
}

/**
 * The `toil` sub-commands a unit may run that the local cloud runs as they are, as a process of
 * the instance (its own environment and metadata endpoint): they need nothing of the host.
 */
export const NODE_TOIL_COMMANDS: ReadonlySet<string> = new Set(['rebalance-watch']);

/** A `toil` command a unit of the user data runs in the appliance. */
export interface NodeToilCommand {
  readonly unit: string;
  /** From the sub-command on: `rebalance-watch --interval=5s`. */
  readonly args: readonly string[];
}

/** The units that run one of `NODE_TOIL_COMMANDS` in the appliance, in the user data's order. */
export function parseNodeToilCommands(userDataBase64: string | undefined): NodeToilCommand[] {
  const out: NodeToilCommand[] = [];
  for (const { name, words } of unitCommands(userDataBase64)) {
    const at = words.findIndex((w, i) => i >= 2 && words[i - 1] === 'toil' && NODE_TOIL_COMMANDS.has(w));
    if (at >= 0) out.push({ unit: name, args: words.slice(at) });
  }
  return out;
}

/** Reads the node's role, engine and flags from base64 user data; undefined if it is not Toil's. */
export function parseNodeUserData(userDataBase64: string | undefined): NodeBootSpec | undefined {
  for (const { name, words } of unitCommands(userDataBase64)) {
    const role =
      name === 'toil-worker.service' ? 'worker' : name === 'toil-leader.service' ? 'leader' : undefined;
    if (!role) continue;
    const slurmAt = words.findIndex(
      (w, i) => words[i - 1] === 'toil' && (w === 'slurm-node' || w === 'slurm-controller'),
    );
    if (slurmAt >= 2) {
      const args = words.slice(slurmAt - 1);
      return {
        role,
        engine: 'slurm',
        image: words[slurmAt - 2],
        master: flagValue(args, '--conf-server'),
        attributes: {},
        features: args.filter((a) => a.startsWith('--feature=')).map((a) => a.slice('--feature='.length)),
        args,
      };
    }
    const mesosAt = words.findIndex(
      (w) => w === 'mesos-agent' || w === 'mesos-master' || w === 'mesos-slave',
    );
    if (mesosAt < 1) continue;
    const args = words.slice(mesosAt);
    return {
      role,
      engine: 'mesos',
      image: words[mesosAt - 1],
      master: flagValue(args, '--master'),
      attributes: parseAttributes(flagValue(args, '--attributes')),
      args,
    };
  }
  return undefined;
}
