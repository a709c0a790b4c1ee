/**
 * The leader daemon's own state, as small JSON objects in its job store (`jobStore:` of its
 * config): the scaler tick's state, the submitted workflows, and their bundled modules.
 */
import type { ObjectStore } from '../jobstore/objectStore.js';
import type { RunStore, WorkflowRun } from '../leader/daemon.js';
import type { TickState, TickStateStore } from '../scaler/tick/state.js';

export function leaderStateStores(stateStore: ObjectStore): {
  tickStore: TickStateStore;
  runStore: RunStore;
} {
  const STATE_KEY = 'leader/tick-state.json';
  const tickStore: TickStateStore = {
    async load() {
      const o = await stateStore.get(STATE_KEY);
      return o ? (JSON.parse(Buffer.from(o.body).toString('utf8')) as TickState) : undefined;
    },
    async save(state) {
      await stateStore.put(STATE_KEY, JSON.stringify(state));
    },
  };
  const RUNS_KEY = 'leader/workflows.json';
  const runStore: RunStore = {
    async load() {
      const o = await stateStore.get(RUNS_KEY);
      return o ? (JSON.parse(Buffer.from(o.body).toString('utf8')) as WorkflowRun[]) : [];
    },
    async save(runs) {
      await stateStore.put(RUNS_KEY, JSON.stringify(runs));
    },
    async saveModule(id, bundle) {
      await stateStore.put(`leader/submissions/${id}.mjs`, bundle);
    },
    async loadModule(id) {
      return (await stateStore.get(`leader/submissions/${id}.mjs`))?.body;
    },
    async deleteModule(id) {
      await stateStore.delete(`leader/submissions/${id}.mjs`);
    },
  };
  return { tickStore, runStore };
}
