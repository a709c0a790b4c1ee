/**
 * The Mesos v1 JSON shapes this project reads and writes (mesos.md §1–§3). Keys are the proto
 * field names in snake_case, exactly as Mesos writes them. Only the fields we use are typed;
 * Mesos ignores unknown keys on input and we ignore them on output.
 * Integer nanosecond fields are `bigint` when they came from `parseMesosJson` and were too big
 * for a double, so they are typed `number | bigint`.
 */

export interface Value {
  value: string;
}

export type TaskState =
  | 'TASK_STAGING'
  | 'TASK_STARTING'
  | 'TASK_RUNNING'
  | 'TASK_KILLING'
  | 'TASK_FINISHED'
  | 'TASK_FAILED'
  | 'TASK_KILLED'
  | 'TASK_ERROR'
  | 'TASK_LOST'
  | 'TASK_DROPPED'
  | 'TASK_UNREACHABLE'
  | 'TASK_GONE'
  | 'TASK_GONE_BY_OPERATOR'
  | 'TASK_UNKNOWN';

/** `isTerminalState` in Mesos (mesos.md §3.6): UNREACHABLE and UNKNOWN are not terminal. */
export const TERMINAL_TASK_STATES: ReadonlySet<TaskState> = new Set<TaskState>([
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_ERROR',
  'TASK_LOST',
  'TASK_DROPPED',
  'TASK_GONE',
  'TASK_GONE_BY_OPERATOR',
]);

export function isTerminalTaskState(state: string): boolean {
  return TERMINAL_TASK_STATES.has(state as TaskState);
}

export interface Range {
  begin: number;
  end: number;
}

/** A v1 `Resource`. Several entries may share a name (roles, reservations): sum by name. */
export interface Resource {
  name: string;
  type: 'SCALAR' | 'RANGES' | 'SET';
  scalar?: { value: number };
  ranges?: { range?: Range[] };
  set?: { item?: string[] };
  role?: string;
  allocation_info?: { role: string };
  reservations?: unknown[];
}

/** A v1 `Attribute` (the array shape used in offers and GET_AGENTS). */
export interface Attribute {
  name: string;
  type: 'TEXT' | 'SCALAR' | 'RANGES' | 'SET';
  text?: { value: string };
  scalar?: { value: number };
  ranges?: { range?: Range[] };
  set?: { item?: string[] };
}

export interface Offer {
  id: Value;
  framework_id: Value;
  agent_id: Value;
  hostname: string;
  url?: { scheme: string; address: { hostname?: string; ip?: string; port: number }; path?: string };
  domain?: unknown;
  resources?: Resource[];
  attributes?: Attribute[];
  executor_ids?: Value[];
  allocation_info?: { role: string };
  unavailability?: unknown;
}

export interface TaskStatus {
  task_id: Value;
  state: TaskState;
  message?: string;
  source?: 'SOURCE_MASTER' | 'SOURCE_AGENT' | 'SOURCE_EXECUTOR';
  reason?: string;
  data?: string;
  agent_id?: Value;
  executor_id?: Value;
  timestamp?: number;
  /** Base64 of 16 bytes; present only on agent/executor updates, which must be acknowledged. */
  uuid?: string;
  healthy?: boolean;
  unreachable_time?: { nanoseconds: number | bigint };
}

export interface EnvironmentVariable {
  name: string;
  type?: 'VALUE' | 'SECRET';
  value?: string;
}

export interface CommandInfo {
  /** Defaults to true in Mesos: `value` runs through `sh -c`. */
  shell?: boolean;
  value?: string;
  /** With shell false: the argv, including argv[0]. */
  arguments?: string[];
  environment?: { variables?: EnvironmentVariable[] };
  uris?: { value: string; executable?: boolean; extract?: boolean; cache?: boolean }[];
  user?: string;
}

export interface TaskInfo {
  name: string;
  task_id: Value;
  agent_id: Value;
  resources: Resource[];
  command?: CommandInfo;
  executor?: unknown;
  container?: unknown;
  data?: string;
  kill_policy?: { grace_period?: { nanoseconds: number | bigint } };
  labels?: { labels?: { key: string; value?: string }[] };
}

export interface FrameworkInfo {
  user: string;
  name: string;
  id?: Value;
  failover_timeout?: number;
  checkpoint?: boolean;
  role?: string;
  roles?: string[];
  hostname?: string;
  principal?: string;
  webui_url?: string;
  capabilities?: { type: string }[];
}

export interface MasterInfo {
  id: string;
  ip?: number;
  port: number;
  pid?: string;
  hostname?: string;
  version?: string;
  address?: { hostname?: string; ip?: string; port: number };
  capabilities?: { type: string }[];
}

/** Scheduler events (mesos.md §3.4). */
export type SchedulerEvent =
  | {
      type: 'SUBSCRIBED';
      subscribed: { framework_id: Value; heartbeat_interval_seconds?: number; master_info?: MasterInfo };
    }
  | { type: 'OFFERS'; offers: { offers?: Offer[] } }
  | { type: 'RESCIND'; rescind: { offer_id: Value } }
  | { type: 'UPDATE'; update: { status: TaskStatus } }
  | { type: 'MESSAGE'; message: { agent_id: Value; executor_id: Value; data: string } }
  | { type: 'FAILURE'; failure: { agent_id?: Value; executor_id?: Value; status?: number } }
  | { type: 'ERROR'; error: { message: string } }
  | { type: 'HEARTBEAT' }
  | { type: 'INVERSE_OFFERS' | 'RESCIND_INVERSE_OFFER' | 'UPDATE_OPERATION_STATUS' | 'UNKNOWN' };

/** `Response.GetAgents.Agent` (mesos.md §2.3). */
export interface GetAgentsAgent {
  agent_info: {
    hostname: string;
    port?: number;
    resources?: Resource[];
    attributes?: Attribute[];
    id?: Value;
    domain?: unknown;
  };
  active: boolean;
  deactivated?: boolean;
  version?: string;
  pid?: string;
  registered_time?: { nanoseconds: number | bigint };
  reregistered_time?: { nanoseconds: number | bigint };
  total_resources?: Resource[];
  allocated_resources?: Resource[];
  offered_resources?: Resource[];
  capabilities?: { type: string }[];
  drain_info?: DrainInfo;
  estimated_drain_start_time?: { nanoseconds: number | bigint };
}

export interface DrainInfo {
  state: 'DRAINING' | 'DRAINED';
  config: { max_grace_period?: { nanoseconds: number | bigint }; mark_gone?: boolean };
}

/** A resource summary in /master/state: scalars summed by name, ranges and sets as strings. */
export type ResourceSummary = Record<string, number | string> & {
  cpus: number;
  mem: number;
  disk: number;
  gpus: number;
};

/** An agent in /master/state `slaves[]` (mesos.md §1.1). */
export interface StateAgent {
  id: string;
  hostname: string;
  port: number;
  attributes: Record<string, string | number>;
  pid: string;
  registered_time: number;
  reregistered_time?: number;
  resources: ResourceSummary;
  used_resources: ResourceSummary;
  offered_resources: ResourceSummary;
  reserved_resources: Record<string, ResourceSummary>;
  unreserved_resources: ResourceSummary;
  active: boolean;
  deactivated?: boolean;
  version: string;
  capabilities: string[];
  drain_info?: DrainInfo;
  estimated_drain_start_time_seconds?: number;
}

export interface StateTask {
  id: string;
  name: string;
  framework_id: string;
  executor_id: string;
  slave_id: string;
  state: TaskState;
  resources: ResourceSummary;
  role?: string;
  statuses: { state: TaskState; timestamp: number }[];
}

export interface StateFramework {
  id: string;
  name: string;
  active: boolean;
  connected: boolean;
  recovered: boolean;
  failover_timeout: number;
  checkpoint: boolean;
  tasks: StateTask[];
  unreachable_tasks: StateTask[];
  completed_tasks: StateTask[];
  offers: { id: string; framework_id: string; slave_id: string; resources: ResourceSummary }[];
  used_resources: ResourceSummary;
  offered_resources: ResourceSummary;
  [key: string]: unknown;
}

/** `GET /master/state` (mesos.md §1.1). */
export interface MasterState {
  version: string;
  id: string;
  pid: string;
  hostname: string;
  start_time: number;
  elected_time?: number;
  leader?: string;
  leader_info?: { id: string; pid: string; port: number; hostname: string };
  activated_slaves: number;
  deactivated_slaves: number;
  unreachable_slaves: number;
  flags: Record<string, string>;
  slaves: StateAgent[];
  recovered_slaves: {
    id: string;
    hostname: string;
    port: number;
    attributes: Record<string, string | number>;
  }[];
  frameworks: StateFramework[];
  completed_frameworks: StateFramework[];
  [key: string]: unknown;
}
