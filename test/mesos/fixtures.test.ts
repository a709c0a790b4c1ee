import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { parseMesosJson } from '../../src/mesos/json.js';
import { agentViewFromGetAgents, agentViewFromState } from '../../src/mesos/masterClient.js';
import { isPreemptableAgent, scalarsOf, scalarsOfSummary } from '../../src/mesos/resources.js';
import { repoPath } from '../fixtures/repoRoot.js';
import type {
  GetAgentsAgent,
  MasterState,
  Resource,
  ResourceSummary,
  SchedulerEvent,
} from '../../src/mesos/types.js';
import {
  checkKeys,
  GET_AGENTS_AGENT,
  STATE_AGENT,
  STATE_FRAMEWORK,
  STATE_OFFER,
  STATE_TASK,
  STATE_TOP,
} from '../fixtures/mesos/fieldLists.js';

const dir = repoPath('test/fixtures/mesos');
const load = <T>(name: string): T => parseMesosJson(fs.readFileSync(path.join(dir, name), 'utf8')) as T;
const obj = (v: unknown): Record<string, unknown> => v as Record<string, unknown>;

t.test("mesos.md's /master/state example parses into the agent the scaler needs", async (t) => {
  const state = load<MasterState>('master-state.json');
  const [agent] = state.slaves.map(agentViewFromState);
  t.equal(agent!.id, 'b5eac2c5-609b-4ca1-a352-61941702fc9e-S3');
  t.equal(agent!.hostname, '10.0.1.17');
  t.equal(agent!.preemptable, true, 'preemptible:"True" (Toil 5.9+ spelling) is a spot agent');
  t.same(agent!.total, { cpus: 8, mem: 14861, disk: 94204 });
  t.same(agent!.used, { cpus: 1, mem: 2048, disk: 1024 }, 'used_resources, not offered (trap 8)');
  t.same(agent!.offered, { cpus: 7, mem: 12813, disk: 93180 });
  t.equal(agent!.active, true);
  t.equal(agent!.drainState, undefined);
  t.equal(state.slaves[0]!.resources['ports'], '[31000-32000]', 'ports is a string in /master/state');
  t.same(checkKeys(obj(state), STATE_TOP), [], 'the example itself satisfies the field list');
  t.same(checkKeys(obj(state.slaves[0]), STATE_AGENT), []);
  t.same(checkKeys(obj(state.frameworks[0]), STATE_FRAMEWORK), []);
  t.same(checkKeys(obj(state.frameworks[0]!.tasks[0]), STATE_TASK), []);
  t.same(checkKeys(obj(state.frameworks[0]!.offers[0]), STATE_OFFER), []);
});

t.test('a draining agent reads as deactivated and DRAINING, not as disconnected', async (t) => {
  const state = load<MasterState>('master-state-draining.json');
  const agent = agentViewFromState(state.slaves[0]!);
  t.equal(agent.active, false);
  t.equal(agent.deactivated, true);
  t.equal(agent.drainState, 'DRAINING');
  t.equal(state.slaves[0]!.drain_info!.config.max_grace_period!.nanoseconds, 600000000000);
  t.same(checkKeys(obj(state.slaves[0]), STATE_AGENT), []);
});

t.test(
  "mesos.md's GET_AGENTS example gives the same agent as /master/state, nanoseconds exact",
  async (t) => {
    const reply = load<{ get_agents: { agents: GetAgentsAgent[] } }>('get-agents.json');
    const raw = reply.get_agents.agents[0]!;
    const agent = agentViewFromGetAgents(raw);
    const fromState = agentViewFromState(load<MasterState>('master-state.json').slaves[0]!);
    t.equal(agent.id, fromState.id);
    t.equal(agent.hostname, fromState.hostname);
    t.equal(agent.preemptable, true);
    t.same(agent.total, fromState.total);
    t.equal(agent.used.cpus, fromState.used.cpus);
    t.equal(agent.used.mem, fromState.used.mem);
    t.equal(agent.registeredTimeNs, 1712340100530000000n, 'exact, a bigint');
    t.equal(typeof raw.registered_time!.nanoseconds, 'bigint');
    t.same(
      agent.attributes,
      { preemptible: 'True', level: 10, keys: '[1000-1500]' },
      'attribute array → object',
    );
    t.same(checkKeys(obj(raw), GET_AGENTS_AGENT), []);
  },
);

t.test(
  'an OFFERS event: resources summed by name, attributes read, MULTI_ROLE allocation info kept',
  async (t) => {
    const event = load<Extract<SchedulerEvent, { type: 'OFFERS' }>>('offers-event.json');
    const offer = event.offers.offers![0]!;
    t.same(scalarsOf(offer.resources), { cpus: 7, mem: 12813, disk: 93180 });
    t.equal(isPreemptableAgent(offer.attributes), false, 'preemptible:"False" is on-demand');
    t.equal(offer.agent_id.value, 'b5eac2c5-…-S3');
    t.same(offer.allocation_info, { role: '*' });
    const doubled = {
      ...offer,
      resources: [
        ...offer.resources!,
        { name: 'cpus', type: 'SCALAR', scalar: { value: 1 }, role: 'r' } as Resource,
      ],
    };
    t.equal(scalarsOf(doubled.resources).cpus, 8, 'same-name entries (another role) are summed');
  },
);

t.test('an UPDATE event carries a 16-byte uuid that must be acknowledged', async (t) => {
  const event = load<Extract<SchedulerEvent, { type: 'UPDATE' }>>('update-event.json');
  const s = event.update.status;
  t.equal(s.state, 'TASK_FAILED');
  t.equal(Buffer.from(s.uuid!, 'base64').length, 16);
  t.equal(s.agent_id!.value, 'b5eac2c5-…-S3');
});

t.test('a SUBSCRIBED event: framework id, heartbeat interval 15.0, master address', async (t) => {
  const event = load<Extract<SchedulerEvent, { type: 'SUBSCRIBED' }>>('subscribed-event.json');
  t.equal(event.subscribed.framework_id.value, 'b5eac2c5-…-0000');
  t.equal(event.subscribed.heartbeat_interval_seconds, 15);
  t.same(event.subscribed.master_info!.address, { hostname: '10.0.0.2', ip: '10.0.0.2', port: 5050 });
});

t.test(
  'preemptability from either attribute spelling and either shape; missing means on-demand',
  async (t) => {
    t.equal(isPreemptableAgent({ preemptable: 'true' }), true, 'Toil ≤5.8 spelling');
    t.equal(isPreemptableAgent({ preemptible: 'True' }), true);
    t.equal(isPreemptableAgent({ preemptible: 'False' }), false);
    t.equal(isPreemptableAgent({}), false);
    t.equal(isPreemptableAgent(undefined), false);
    t.equal(isPreemptableAgent([{ name: 'preemptable', type: 'TEXT', text: { value: 'True' } }]), true);
    t.equal(isPreemptableAgent([{ name: 'preemptible', type: 'SCALAR', scalar: { value: 1 } }]), true);
    t.same(scalarsOfSummary(load<ResourceSummary>('resource-summary.json')), {
      cpus: 8,
      mem: 14861,
      disk: 94204,
    });
  },
);
