import t from 'tap';
import http from 'node:http';
import { RealClock } from '../../src/common/clock.js';
import { parseAttributesFlag, parseResourcesFlag } from '../../src/localcloud/mesos/agentFlags.js';
import { startMesosMaster } from '../../src/localcloud/mesos/masterServer.js';
import { parseMesosJson, stringifyMesosJson } from '../../src/mesos/json.js';
import {
  agentViewFromGetAgents,
  agentViewFromState,
  MesosMasterClient,
} from '../../src/mesos/masterClient.js';
import { MemoryFrameworkIdStore, MesosSchedulerClient } from '../../src/mesos/scheduler.js';
import type { GetAgentsAgent, Offer } from '../../src/mesos/types.js';

const obj = (v: unknown): Record<string, unknown> => v as Record<string, unknown>;
import {
  AGENT_INFO,
  checkKeys,
  GET_AGENTS_AGENT,
  STATE_AGENT,
  STATE_FRAMEWORK,
  STATE_OFFER,
  STATE_TASK,
  STATE_TOP,
  SUMMARY_ALWAYS,
} from '../fixtures/mesos/fieldLists.js';
import { startCluster, waitFor } from '../fixtures/mesosCluster.js';

function raw(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method ?? 'GET', headers: init.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

t.test(
  "the local master's /master/state and GET_AGENTS hold to mesos.md's field lists, with a task and offers out",
  async (t) => {
    const cluster = await startCluster([
      {
        resources: 'cpus:2;mem:2048;disk:4096;ports:[31000-32000]',
        attributes: 'preemptible:True;rack:r1;level:10',
      },
    ]);
    t.teardown(() => cluster.stop());
    const agentId = cluster.agentIds[0]!;
    // A bare scheduler that launches one task on its first offer and then holds its offers.
    const sched = new MesosSchedulerClient({
      master: cluster.master.address,
      framework: { name: 'wire', user: 'ubuntu', failoverTimeoutSeconds: 60 },
      frameworkIdStore: new MemoryFrameworkIdStore(),
      clock: new RealClock(),
    });
    let launched = false;
    let offerToLaunchMs = -1;
    let offerSeenAt = 0;
    sched.start({
      subscribed: () => undefined,
      rescind: () => undefined,
      update: (s) => {
        if (s.state === 'TASK_STARTING' && offerToLaunchMs < 0) offerToLaunchMs = Date.now() - offerSeenAt;
      },
      offers: async (offers: Offer[]) => {
        if (launched) return;
        launched = true;
        offerSeenAt = Date.now();
        const o = offers[0]!;
        await sched.launch(
          [o.id.value],
          [
            {
              name: 'wire-task',
              task_id: { value: 'wire-1' },
              agent_id: o.agent_id,
              resources: [
                { name: 'cpus', type: 'SCALAR', scalar: { value: 0.5 } },
                { name: 'mem', type: 'SCALAR', scalar: { value: 128 } },
              ],
              command: { value: 'sleep 30' },
            },
          ],
          0,
        );
      },
    });
    t.teardown(() => sched.stop());
    const client = new MesosMasterClient(cluster.master.address);
    await waitFor('task running and a new offer out', async () => {
      const s = await client.state();
      const fw = s.frameworks[0];
      return fw?.tasks[0]?.state === 'TASK_RUNNING' && fw.offers.length === 1;
    });
    t.comment(`offer → TASK_STARTING on the local master: ${offerToLaunchMs} ms`);
    const state = await client.state();
    const slave = state.slaves[0]!;
    const framework = state.frameworks[0]!;
    t.same(checkKeys(state, STATE_TOP), [], '/master/state top-level keys');
    t.same(checkKeys(obj(slave), STATE_AGENT), [], 'agent keys');
    t.same(checkKeys(obj(framework), STATE_FRAMEWORK), [], 'framework keys');
    t.same(checkKeys(obj(framework.tasks[0]), STATE_TASK), [], 'task keys');
    t.same(checkKeys(obj(framework.offers[0]), STATE_OFFER), [], 'offer keys');
    for (const k of ['resources', 'used_resources', 'offered_resources', 'unreserved_resources']) {
      t.same(
        SUMMARY_ALWAYS.filter((x) => !(x in (obj(slave)[k] as object))),
        [],
        `${k} always has cpus, gpus, mem, disk`,
      );
    }
    t.equal(slave.resources['ports'], '[31000-32000]', 'ports as a string');
    t.same(slave.attributes, { preemptible: 'True', rack: 'r1', level: 10 }, 'attributes as an object');
    t.same(slave.used_resources, { disk: 0, mem: 128, gpus: 0, cpus: 0.5 }, 'used = the running task');
    t.equal(framework.offers[0]!.resources.cpus, 1.5, 'offered = what is left');
    t.same(state.orphan_tasks, []);
    t.match(state.pid, /^master@127\.0\.0\.1:\d+$/);
    t.match(slave.pid, /^slave\(1\)@127\.0\.0\.1:5051$/);

    const reply = parseMesosJson((await client.call({ type: 'GET_AGENTS' })).body.toString('utf8')) as {
      type: string;
      get_agents: { agents: GetAgentsAgent[] };
    };
    t.equal(reply.type, 'GET_AGENTS');
    const agent = reply.get_agents.agents[0]!;
    t.same(checkKeys(obj(agent), GET_AGENTS_AGENT), [], 'GET_AGENTS agent keys, in proto order');
    t.same(checkKeys(obj(agent.agent_info), AGENT_INFO), []);
    t.equal(typeof agent.registered_time!.nanoseconds, 'bigint', 'nanoseconds beyond 2^53, exact');
    t.notOk('role' in agent.agent_info.resources![0]!, 'agent_info.resources: no role (post-refinement)');
    t.equal(agent.total_resources![0]!.role, '*', 'total_resources: endpoint format with role');
    t.same(agent.agent_info.attributes![0], { name: 'preemptible', type: 'TEXT', text: { value: 'True' } });
    t.same(agent.agent_info.attributes![2], { name: 'level', type: 'SCALAR', scalar: { value: 10 } });
    t.notOk('recovered_agents' in reply.get_agents, 'empty arrays are omitted');

    // One agent, two shapes, one view: the client reads both the same way (as for the doc examples).
    const a = agentViewFromState(slave);
    const b = agentViewFromGetAgents(agent);
    t.same(
      { ...a, registeredTimeNs: undefined, offered: undefined },
      { ...b, registeredTimeNs: undefined, offered: undefined },
      '/master/state and GET_AGENTS give the same agent',
    );
    t.equal(a.id, agentId);
    t.equal(a.preemptable, true);
    t.ok(
      b.registeredTimeNs! - a.registeredTimeNs! < 1_000_000n &&
        b.registeredTimeNs! - a.registeredTimeNs! > -1_000_000n,
      'the same registration time, to the microsecond',
    );

    const summary = JSON.parse((await raw(`${cluster.master.url}/master/state-summary`)).body);
    t.equal(summary.slaves[0].TASK_RUNNING, 1, 'state-summary: per-state task counts');
    t.same(summary.slaves[0].framework_ids, [framework.id]);
  },
);

t.test(
  "Mesos' HTTP rules: exact content type, methods, text errors, 307 with a protocol-relative Location",
  async (t) => {
    const leader = await startMesosMaster();
    const follower = await startMesosMaster();
    t.teardown(async () => {
      await follower.stop();
      await leader.stop();
    });
    const api = `${leader.url}/api/v1`;
    const call = stringifyMesosJson({ type: 'GET_AGENTS' });
    const charset = await raw(api, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json; charset=utf-8' },
      body: call,
    });
    t.equal(charset.status, 415, 'application/json; charset=utf-8 is refused');
    t.match(charset.headers['content-type'], /^text\/plain/, 'errors are text/plain');
    const get = await raw(api);
    t.equal(get.status, 405);
    t.equal(get.headers['allow'], 'POST');
    t.equal((await raw(api, { method: 'POST', body: call })).status, 400, 'no Content-Type');
    const noType = await raw(api, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
    t.same(
      [noType.status, noType.body],
      [400, "Failed to validate master::Call: Expecting 'type' to be present"],
    );
    t.equal((await raw(`${leader.url}/state.json`)).status, 404, '/state.json is gone (≥ 1.8)');
    t.equal((await raw(`${leader.url}/state`)).status, 200, '/state is /master/state');
    const recordio = await raw(`${leader.url}/api/v1/scheduler`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/recordio' },
      body: stringifyMesosJson({
        type: 'SUBSCRIBE',
        subscribe: { framework_info: { user: 'u', name: 'n' } },
      }),
    });
    t.equal(recordio.status, 406, 'Accept: application/recordio → 406');
    const noStream = await raw(`${leader.url}/api/v1/scheduler`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: stringifyMesosJson({ type: 'REVIVE', framework_id: { value: 'nope' } }),
    });
    t.same([noStream.status, noStream.body], [400, 'Framework cannot be found']);

    const client = new MesosMasterClient(leader.address);
    const stringGrace = await raw(api, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"type":"DRAIN_AGENT","drain_agent":{"agent_id":{"value":"x"},"max_grace_period":"10mins"}}',
    });
    t.same(
      [stringGrace.status, stringGrace.body],
      [
        400,
        "Failed to convert JSON into Call protobuf: Not expecting a JSON string for field 'max_grace_period'",
      ],
    );
    t.same(await refusal(client.deactivateAgent('no-such-agent')), [400, 'Unknown agent']);
    t.same(await refusal(client.markAgentGone('no-such-agent')), [404, "Agent 'no-such-agent' not found"]);
    t.same(await refusal(client.teardownFramework('no-such-framework')), [
      400,
      'No framework found with specified ID',
    ]);
    t.same(await refusal(client.call({ type: 'TEARDOWN', teardown: {} })), [
      400,
      'Failed to convert JSON into Call protobuf: Missing required fields: teardown.framework_id',
    ]);

    follower.setLeader(leader.address);
    const redirected = await raw(`${follower.url}/api/v1`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: call,
    });
    t.equal(redirected.status, 307);
    t.equal(
      redirected.headers['location'],
      `//${leader.address}/master/api/v1`,
      'protocol-relative, /master prefix',
    );
    const viaFollower = new MesosMasterClient(follower.address);
    const state = await viaFollower.state();
    t.equal(state.id, leader.model.id, 'the client followed the redirect to the leader');
    t.equal(viaFollower.endpoint.leader.host, leader.address, 'and remembers the leader');
    t.equal((await viaFollower.getAgents()).agents.length, 0, 'POSTs are re-sent after a 307');
    const redirect = await raw(`${leader.url}/master/redirect`);
    t.same(
      [redirect.status, redirect.headers['location']],
      [307, `//${leader.address}`],
      '/master/redirect: 307 even on the leader',
    );
    follower.setLeader(null);
    t.same((await raw(`${follower.url}/master/state`)).status, 503, 'no leader: 503');
  },
);

t.test('agent flags parse as mesos-agent parses them', async (t) => {
  t.same(parseAttributesFlag('preemptible:True;rack: a b ;level:10;keys:[1000-1500,1501-1600]'), [
    { name: 'preemptible', type: 'TEXT', text: { value: 'True' } },
    { name: 'rack', type: 'TEXT', text: { value: 'ab' } },
    { name: 'level', type: 'SCALAR', scalar: { value: 10 } },
    { name: 'keys', type: 'RANGES', ranges: { range: [{ begin: 1000, end: 1600 }] } },
  ]);
  t.throws(() => parseAttributesFlag('s:{a,b}'), { code: 'MESOS_AGENT_FLAG' }, 'SET attributes are refused');
  t.throws(() => parseAttributesFlag('novalue'), { code: 'MESOS_AGENT_FLAG' });
  t.same(parseResourcesFlag('cpus:2;mem:4096;ports:[31000-32000]'), [
    { name: 'cpus', type: 'SCALAR', scalar: { value: 2 } },
    { name: 'mem', type: 'SCALAR', scalar: { value: 4096 } },
    { name: 'ports', type: 'RANGES', ranges: { range: [{ begin: 31000, end: 32000 }] } },
  ]);
  t.throws(() => parseResourcesFlag('cpus:-1'), { code: 'MESOS_AGENT_FLAG' });
});

/** [status, body] of the MesosHttpError a call was refused with. */
async function refusal(p: Promise<unknown>): Promise<[number | undefined, string | undefined]> {
  try {
    await p;
    return [undefined, undefined];
  } catch (e) {
    const err = e as { status?: number; body?: string };
    return [err.status, err.body];
  }
}
