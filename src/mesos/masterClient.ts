/**
 * The master client: the read-only state endpoint and the operator API calls the scaler needs
 * (mesos.md §1–§2). Agents from either source are normalised into one `AgentView`, so callers never
 * meet the two shapes (summaries and attribute objects in /master/state, protobuf arrays in v1).
 */
import { MesosEndpoint, type MesosResponse } from './http.js';
import { parseMesosJson, stringifyMesosJson, toBigInt } from './json.js';
import {
  attributesToObject,
  isPreemptableAgent,
  scalarsOf,
  scalarsOfSummary,
  type Scalars,
} from './resources.js';
import type { DrainInfo, GetAgentsAgent, MasterState, StateAgent } from './types.js';
import { ToilError } from '../common/errors.js';

/** An agent as the scaler sees it, whichever endpoint it came from. */
export interface AgentView {
  id: string;
  hostname: string;
  attributes: Record<string, string | number>;
  preemptable: boolean;
  /** Offers are made to it: connected and not deactivated. */
  active: boolean;
  /** Deactivated or draining by an operator call (tells `active:false` apart from disconnected). */
  deactivated: boolean;
  drainState?: 'DRAINING' | 'DRAINED';
  total: Scalars;
  /** Held by tasks and executors. Free = total − used; offered resources are *not* used (trap 8). */
  used: Scalars;
  offered: Scalars;
  /** Registration time, exact nanoseconds when the source had them. */
  registeredTimeNs?: bigint;
}

export function agentViewFromState(a: StateAgent): AgentView {
  return {
    id: a.id,
    hostname: a.hostname,
    attributes: a.attributes ?? {},
    preemptable: isPreemptableAgent(a.attributes),
    active: a.active,
    deactivated: a.deactivated ?? false,
    ...(a.drain_info ? { drainState: a.drain_info.state } : {}),
    total: scalarsOfSummary(a.resources),
    used: scalarsOfSummary(a.used_resources),
    offered: scalarsOfSummary(a.offered_resources),
    registeredTimeNs: BigInt(Math.round(a.registered_time * 1e6)) * 1000n,
  };
}

export function agentViewFromGetAgents(a: GetAgentsAgent): AgentView {
  const ns = toBigInt(a.registered_time?.nanoseconds);
  return {
    id: a.agent_info.id?.value ?? '',
    hostname: a.agent_info.hostname,
    attributes: attributesToObject(a.agent_info.attributes),
    preemptable: isPreemptableAgent(a.agent_info.attributes ?? []),
    active: a.active,
    deactivated: a.deactivated ?? false,
    ...(a.drain_info ? { drainState: a.drain_info.state } : {}),
    total: scalarsOf(a.total_resources),
    used: scalarsOf(a.allocated_resources),
    offered: scalarsOf(a.offered_resources),
    ...(ns !== undefined ? { registeredTimeNs: ns } : {}),
  };
}

export interface DrainOptions {
  /** Longest a task gets between SIGTERM and SIGKILL; sent as a protobuf Duration `{seconds}`. */
  maxGracePeriodSeconds?: number;
  /** Mark the agent gone once drained (it can never come back; right for terminated instances). */
  markGone?: boolean;
}

/** The master answered something that is not the JSON it documents. */
export class MesosProtocolError extends ToilError {
  constructor(message: string, cause?: unknown) {
    super('MESOS_PROTOCOL', message, { disposition: 'retry', cause });
  }
}

export class MesosMasterClient {
  readonly endpoint: MesosEndpoint;
  private readonly timeoutMs: number;

  constructor(address: string | MesosEndpoint, options: { timeoutMs?: number } = {}) {
    this.endpoint = typeof address === 'string' ? new MesosEndpoint(address) : address;
    this.timeoutMs = options.timeoutMs ?? 15_000;
  }

  async version(): Promise<{ version: string }> {
    return this.getJson('/version');
  }

  /** `GET /master/state` (never `/state.json`, which is 404 on Mesos ≥ 1.8). */
  async state(): Promise<MasterState> {
    return this.getJson('/master/state');
  }

  /** Every registered agent, from /master/state. */
  async agentsFromState(): Promise<AgentView[]> {
    return (await this.state()).slaves.map(agentViewFromState);
  }

  /** Operator `GET_AGENTS`: the registered agents and the recovered ones not yet back. */
  async getAgents(): Promise<{ agents: AgentView[]; raw: GetAgentsAgent[]; recoveredIds: string[] }> {
    const res = await this.call({ type: 'GET_AGENTS' });
    const parsed = parseJson(res.body) as {
      get_agents?: { agents?: GetAgentsAgent[]; recovered_agents?: { id?: { value: string } }[] };
    };
    const raw = parsed.get_agents?.agents ?? [];
    return {
      agents: raw.map(agentViewFromGetAgents),
      raw,
      recoveredIds: (parsed.get_agents?.recovered_agents ?? []).map((a) => a.id?.value ?? ''),
    };
  }

  /**
   * `DRAIN_AGENT`: the agent gets no more offers and its tasks are killed (after the grace
   * period); once it has no tasks it is DRAINED (or gone, with markGone). 200 with an empty body.
   */
  async drainAgent(agentId: string, options: DrainOptions = {}): Promise<void> {
    const drain: Record<string, unknown> = { agent_id: { value: agentId } };
    if (options.maxGracePeriodSeconds !== undefined) {
      // A google.protobuf.Duration, not a DurationInfo and not "10mins" (mesos.md §2.4).
      const whole = Math.floor(options.maxGracePeriodSeconds);
      const nanos = Math.round((options.maxGracePeriodSeconds - whole) * 1e9);
      drain['max_grace_period'] = nanos > 0 ? { seconds: whole, nanos } : { seconds: whole };
    }
    if (options.markGone !== undefined) drain['mark_gone'] = options.markGone;
    await this.call({ type: 'DRAIN_AGENT', drain_agent: drain });
  }

  /** `DEACTIVATE_AGENT`: no more offers; running tasks keep running. */
  async deactivateAgent(agentId: string): Promise<void> {
    await this.call({ type: 'DEACTIVATE_AGENT', deactivate_agent: { agent_id: { value: agentId } } });
  }

  async reactivateAgent(agentId: string): Promise<void> {
    await this.call({ type: 'REACTIVATE_AGENT', reactivate_agent: { agent_id: { value: agentId } } });
  }

  /** `MARK_AGENT_GONE`: permanent; the agent's tasks become TASK_GONE_BY_OPERATOR / TASK_LOST. */
  async markAgentGone(agentId: string): Promise<void> {
    await this.call({ type: 'MARK_AGENT_GONE', mark_agent_gone: { agent_id: { value: agentId } } });
  }

  /**
   * Operator `TEARDOWN`: the master kills every task of the framework and removes it (connected
   * or not), so its id can never subscribe again. 200 with an empty body; a framework the master
   * does not hold (never, or already removed) is a 400 "No framework found".
   */
  async teardownFramework(frameworkId: string): Promise<void> {
    await this.call({ type: 'TEARDOWN', teardown: { framework_id: { value: frameworkId } } });
  }

  /** One operator call. Mutating calls answer 200 with an empty body, which is not parsed. */
  async call(body: Record<string, unknown>): Promise<MesosResponse> {
    return this.endpoint.request({
      method: 'POST',
      path: '/api/v1',
      body: stringifyMesosJson(body),
      timeoutMs: this.timeoutMs,
    });
  }

  private async getJson<T>(path: string): Promise<T> {
    const res = await this.endpoint.request({ method: 'GET', path, timeoutMs: this.timeoutMs });
    return parseJson(res.body) as T;
  }
}

function parseJson(body: Buffer): unknown {
  try {
    return parseMesosJson(body.toString('utf8'));
  } catch (e) {
    throw new MesosProtocolError(
      `the Mesos master sent a body that is not JSON: ${body.toString('utf8').slice(0, 200)}`,
      e,
    );
  }
}

export type { DrainInfo };
