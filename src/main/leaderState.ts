/**
 * The leader daemon's own state, as small JSON objects in its job store (`jobStore:` of its
 * config): the scaler tick's state, the submitted workflows, their bundled modules, and the
 * status page's plot history.
 */
import type { ObjectStore } from '../jobstore/objectStore.js';
import type { HistoryStore, RunStore, WorkflowRun } from '../leader/daemon.js';
import type { StatusSample } from '../leader/statusHistory.js';
import type { TickState, TickStateStore } from '../scaler/tick/state.js';

export function leaderStateStores(stateStore: ObjectStore): {
  tickStore: TickStateStore;
  runStore: RunStore;
  historyStore: HistoryStore;
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
  const HISTORY_KEY = 'leader/status-history.json';
  const historyStore: HistoryStore = {
    async load() {
      const o = await stateStore.get(HISTORY_KEY);
      return o ? (JSON.parse(Buffer.from(o.body).toString('utf8')) as StatusSample[]) : [];
    },
    async save(samples) {
      await stateStore.put(HISTORY_KEY, JSON.stringify(samples));
    },
  };
  return { tickStore, runStore, historyStore };
}
