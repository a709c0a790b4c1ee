import type { AgentView } from './masterClient.js';

/**
 * When the master was first seen listing each agent of ours disconnected. The master tells a
 * checkpointing framework nothing when an agent's connection drops (the node terminated, the agent
 * killed): its tasks stay listed until the health check gives up (75 s on Mesos' defaults). An
 * agent seen disconnected for `graceMs` is taken for gone; a shorter absence (an agent restarted,
 * a connection re-made) is not, and its tasks run on.
 */
export class DisconnectedAgents {
  private readonly since = new Map<string, number>();
  private readonly graceMs: number;

  constructor(graceMs: number) {
    this.graceMs = graceMs;
  }

  /**
   * The agents in this reading of the master's list that run tasks of ours (`ours`) and have been
   * seen disconnected for at least `graceMs` as of `now`. An agent seen connected again, or no
   * longer listed, starts afresh.
   */
  gone(agents: readonly AgentView[], now: number, ours: (agentId: string) => boolean): string[] {
    const disconnected = agents.filter((a) => !a.active && !a.deactivated && ours(a.id));
    const listed = new Set(disconnected.map((a) => a.id));
    for (const id of this.since.keys()) if (!listed.has(id)) this.since.delete(id);
    const gone: string[] = [];
    for (const a of disconnected) {
      const since = this.since.get(a.id) ?? now;
      this.since.set(a.id, since);
      if (now - since >= this.graceMs) gone.push(a.id);
    }
    return gone;
  }

  forget(agentId: string): void {
    this.since.delete(agentId);
  }
}
