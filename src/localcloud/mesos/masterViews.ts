/**
 * The local master's read-only views, key for key as mesos.md §1 and §2.3 list them:
 * `/master/state` (summaries, attribute objects, seconds), `/master/state-summary`,
 * `/master/slaves`, and operator `GET_AGENTS` (protobuf arrays, `{nanoseconds}`, empty arrays
 * omitted). Both shapes are produced from the same records so they always agree.
 */
import { attributesToObject } from '../../mesos/resources.js';
import { isTerminalTaskState } from '../../mesos/types.js';
import type { TaskState } from '../../mesos/types.js';
import type { AgentRecord, FrameworkRecord, MasterModel, TaskRecord } from './masterModel.js';
import { addBags, bagToResources, bagToSummary, emptyBag, subtractBags } from './resourceBag.js';

const BUILD = { build_date: '2020-11-20 10:00:00', build_time: 1605866400.0, build_user: 'toil-ts' };

function seconds(ms: number): number {
  return ms / 1000;
}

function nanos(ms: number): { nanoseconds: bigint } {
  return { nanoseconds: BigInt(Math.round(ms * 1000)) * 1000n };
}

export function versionJson(m: MasterModel): Record<string, unknown> {
  return { version: m.config.version, ...BUILD };
}

function drainInfoJson(a: AgentRecord): Record<string, unknown> | undefined {
  if (!a.drain) return undefined;
  return {
    state: a.drain.state,
    config: {
      ...(a.drain.maxGraceNs !== undefined ? { max_grace_period: { nanoseconds: a.drain.maxGraceNs } } : {}),
      mark_gone: a.drain.markGone,
    },
  };
}

/** The `SlaveWriter` object shared by /state, /slaves and /state-summary. */
export function stateAgentJson(m: MasterModel, a: AgentRecord): Record<string, unknown> {
  const used = m.usedOn(a.id);
  const drain = drainInfoJson(a);
  return {
    id: a.id,
    hostname: a.hostname,
    port: a.port,
    attributes: attributesToObject(a.attributes),
    pid: `slave(1)@${a.hostname}:${a.port}`,
    registered_time: seconds(a.registeredAtMs),
    ...(a.reregisteredAtMs !== undefined ? { reregistered_time: seconds(a.reregisteredAtMs) } : {}),
    resources: bagToSummary(a.total),
    used_resources: bagToSummary(used),
    offered_resources: bagToSummary(m.offeredOn(a.id)),
    reserved_resources: {},
    unreserved_resources: bagToSummary(a.total),
    active: m.isAgentActive(a),
    deactivated: a.deactivated,
    version: a.version,
    capabilities: a.capabilities,
    ...(drain ? { drain_info: drain, estimated_drain_start_time_seconds: seconds(a.drain!.startedMs) } : {}),
  };
}

function taskJson(t: TaskRecord): Record<string, unknown> {
  return {
    id: t.id,
    name: t.info.name,
    framework_id: t.frameworkId,
    executor_id: '',
    slave_id: t.agentId,
    state: t.state,
    resources: bagToSummary(t.resources),
    role: '*',
    statuses: t.statuses.map((s) => ({ state: s.state, timestamp: s.timestamp })),
    ...(t.info.labels?.labels?.length ? { labels: t.info.labels.labels } : {}),
  };
}

function frameworkJson(m: MasterModel, fw: FrameworkRecord): Record<string, unknown> {
  let used = emptyBag();
  for (const t of fw.tasks.values()) if (!isTerminalTaskState(t.state)) used = addBags(used, t.resources);
  let offered = emptyBag();
  const offers = [...m.offers.values()].filter((o) => o.frameworkId === fw.id);
  for (const o of offers) offered = addBags(offered, o.resources);
  const multiRole = fw.capabilities.has('MULTI_ROLE');
  return {
    id: fw.id,
    name: fw.info.name,
    used_resources: bagToSummary(used),
    offered_resources: bagToSummary(offered),
    capabilities: [...fw.capabilities],
    hostname: fw.info.hostname ?? '',
    webui_url: fw.info.webui_url ?? '',
    active: fw.connected && !fw.suppressed,
    connected: fw.connected,
    recovered: fw.recovered,
    user: fw.info.user,
    failover_timeout: Number(fw.info.failover_timeout ?? 0),
    checkpoint: fw.info.checkpoint ?? false,
    registered_time: seconds(fw.registeredAtMs),
    unregistered_time: seconds(fw.unregisteredAtMs),
    ...(fw.info.principal !== undefined ? { principal: fw.info.principal } : {}),
    resources: bagToSummary(addBags(used, offered)),
    ...(fw.reregisteredAtMs !== undefined ? { reregistered_time: seconds(fw.reregisteredAtMs) } : {}),
    ...(multiRole ? { roles: fw.info.roles ?? ['*'] } : { role: fw.info.role ?? '*' }),
    tasks: [...fw.tasks.values()].map(taskJson),
    unreachable_tasks: [...fw.unreachableTasks.values()].map(taskJson),
    completed_tasks: fw.completedTasks.map(taskJson),
    offers: offers.map((o) => ({
      id: o.id,
      framework_id: o.frameworkId,
      ...(multiRole ? { allocation_info: { role: '*' } } : {}),
      slave_id: o.agentId,
      resources: bagToSummary(o.resources),
    })),
    executors: [],
    offer_constraints: {},
  };
}

function registered(m: MasterModel): AgentRecord[] {
  return [...m.agents.values()].filter((a) => a.lifecycle === 'registered');
}

function recovered(m: MasterModel): AgentRecord[] {
  return [...m.agents.values()].filter((a) => a.lifecycle === 'recovered');
}

/** `GET /master/state`, keys in the order mesos.md §1.1 gives. */
export function stateJson(m: MasterModel, flags: Record<string, string>): Record<string, unknown> {
  const agents = registered(m);
  const leader = {
    id: m.id,
    pid: m.pid,
    port: m.config.port,
    hostname: m.config.hostname,
  };
  return {
    version: m.config.version,
    ...BUILD,
    start_time: seconds(m.startMs),
    elected_time: seconds(m.startMs),
    id: m.id,
    pid: m.pid,
    hostname: m.config.hostname,
    capabilities: ['AGENT_UPDATE', 'AGENT_DRAINING', 'QUOTA_V2'],
    activated_slaves: agents.filter((a) => !a.deactivated).length,
    deactivated_slaves: agents.filter((a) => a.deactivated).length,
    unreachable_slaves: m.unreachableCount,
    leader: m.pid,
    leader_info: leader,
    flags,
    slaves: agents.map((a) => stateAgentJson(m, a)),
    recovered_slaves: recovered(m).map((a) => ({
      id: a.id,
      hostname: a.hostname,
      port: a.port,
      attributes: attributesToObject(a.attributes),
    })),
    frameworks: [...m.frameworks.values()].map((fw) => frameworkJson(m, fw)),
    completed_frameworks: m.completedFrameworks.map((fw) => frameworkJson(m, fw)),
    orphan_tasks: [],
    unregistered_frameworks: [],
  };
}

const COUNTED_STATES: TaskState[] = [
  'TASK_STAGING',
  'TASK_STARTING',
  'TASK_RUNNING',
  'TASK_KILLING',
  'TASK_FINISHED',
  'TASK_KILLED',
  'TASK_FAILED',
  'TASK_LOST',
  'TASK_ERROR',
  'TASK_UNREACHABLE',
];

/** `GET /master/state-summary`: agents with per-state task counts (history included). */
export function stateSummaryJson(m: MasterModel): Record<string, unknown> {
  const slaves = registered(m).map((a) => {
    const counts: Record<string, number> = Object.fromEntries(COUNTED_STATES.map((s) => [s, 0]));
    const frameworkIds = new Set<string>();
    for (const fw of m.frameworks.values()) {
      for (const t of [...fw.tasks.values(), ...fw.unreachableTasks.values(), ...fw.completedTasks]) {
        if (t.agentId !== a.id) continue;
        frameworkIds.add(fw.id);
        if (t.state in counts) counts[t.state]!++;
      }
    }
    return { ...stateAgentJson(m, a), ...counts, framework_ids: [...frameworkIds] };
  });
  const frameworks = [...m.frameworks.values()].map((fw) => {
    const f = frameworkJson(m, fw);
    return {
      id: f['id'],
      name: f['name'],
      pid: undefined,
      used_resources: f['used_resources'],
      offered_resources: f['offered_resources'],
      capabilities: f['capabilities'],
      hostname: f['hostname'],
      webui_url: f['webui_url'],
      active: f['active'],
      connected: f['connected'],
      recovered: f['recovered'],
      slave_ids: [...new Set([...fw.tasks.values()].map((t) => t.agentId))],
    };
  });
  return { hostname: m.config.hostname, slaves, frameworks };
}

/** `GET /master/slaves`. */
export function slavesJson(m: MasterModel, agentId?: string): Record<string, unknown> {
  const match = (a: AgentRecord): boolean => agentId === undefined || a.id === agentId;
  return {
    slaves: registered(m)
      .filter(match)
      .map((a) => ({
        ...stateAgentJson(m, a),
        reserved_resources_full: {},
        unreserved_resources_full: bagToResources(a.total, { endpoint: true }),
        used_resources_full: bagToResources(m.usedOn(a.id), { endpoint: true, allocationRole: '*' }),
        offered_resources_full: bagToResources(m.offeredOn(a.id), { endpoint: true, allocationRole: '*' }),
      })),
    recovered_slaves: recovered(m)
      .filter(match)
      .map((a) => ({
        id: a.id,
        hostname: a.hostname,
        port: a.port,
        attributes: attributesToObject(a.attributes),
      })),
  };
}

/** One `Response.GetAgents.Agent`; empty arrays omitted, as Mesos' JSON writer does. */
function getAgentJson(m: MasterModel, a: AgentRecord): Record<string, unknown> {
  const used = m.usedOn(a.id);
  const offered = m.offeredOn(a.id);
  const nonEmpty = <T>(key: string, arr: T[]): Record<string, T[]> => (arr.length > 0 ? { [key]: arr } : {});
  const drain = drainInfoJson(a);
  return {
    agent_info: {
      hostname: a.hostname,
      port: a.port,
      // Copied raw in post-refinement format: unreserved entries carry no role.
      ...nonEmpty('resources', bagToResources(a.total)),
      ...nonEmpty('attributes', a.attributes),
      id: { value: a.id },
    },
    active: m.isAgentActive(a),
    deactivated: a.deactivated,
    version: a.version,
    pid: `slave(1)@${a.hostname}:${a.port}`,
    registered_time: nanos(a.registeredAtMs),
    ...(a.reregisteredAtMs !== undefined ? { reregistered_time: nanos(a.reregisteredAtMs) } : {}),
    ...nonEmpty('total_resources', bagToResources(a.total, { endpoint: true })),
    ...nonEmpty('allocated_resources', bagToResources(used, { endpoint: true, allocationRole: '*' })),
    ...nonEmpty('offered_resources', bagToResources(offered, { endpoint: true, allocationRole: '*' })),
    capabilities: a.capabilities.map((type) => ({ type })),
    ...(drain ? { drain_info: drain, estimated_drain_start_time: nanos(a.drain!.startedMs) } : {}),
  };
}

export function getAgentsJson(m: MasterModel): Record<string, unknown> {
  const rec = recovered(m).map((a) => ({
    hostname: a.hostname,
    port: a.port,
    ...(a.attributes.length > 0 ? { attributes: a.attributes } : {}),
    id: { value: a.id },
  }));
  return {
    type: 'GET_AGENTS',
    get_agents: {
      ...(registered(m).length > 0 ? { agents: registered(m).map((a) => getAgentJson(m, a)) } : {}),
      ...(rec.length > 0 ? { recovered_agents: rec } : {}),
    },
  };
}

/** Free resources for reporting (total − used), never total − offered (mesos.md trap 8). */
export function freeOf(m: MasterModel, a: AgentRecord): Record<string, unknown> {
  return bagToSummary(subtractBags(a.total, m.usedOn(a.id)));
}
