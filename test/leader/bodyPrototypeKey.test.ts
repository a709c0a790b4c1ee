import { join } from 'node:path';
import t from 'tap';
import { STATE_DAEMON_TOKEN, STATE_DAEMON_WORKFLOW, daemonOnState } from '../fixtures/stateDaemon.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * A submission whose JSON holds a `__proto__` key (in its env, at its top) is valid JSON: the
 * daemon answered it "the body is not valid JSON". It is refused as what it is, naming the key and
 * where it sits, with a stable code; nothing runs, and no object of the daemon gains a prototype.
 */
const post = (url: string, body: string): Promise<Response> =>
  fetch(`${url}/workflows`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${STATE_DAEMON_TOKEN}` },
    body,
  });

t.test('a body with a key reaching a prototype is refused naming the key and where it is', async (t) => {
  const dir = testDir(t);
  const { url, runs } = await daemonOnState(t, join(dir, 'state'));
  const start = `"workflowFile": ${JSON.stringify(STATE_DAEMON_WORKFLOW)}, "jobStore": "file:${dir}/js"`;
  const cases: [what: string, body: string, error: string][] = [
    [
      'an env variable named __proto__',
      `{${start}, "env": {"A": "1", "__proto__": "x"}}`,
      `POST /workflows: the body holds the key "__proto__" (at env.__proto__), which this leader refuses: such a key reaches an object's prototype in JavaScript, and no field of the API or variable name takes it`,
    ],
    [
      'a __proto__ object at the top',
      `{${start}, "__proto__": {"polluted": true}}`,
      `POST /workflows: the body holds the key "__proto__" (at __proto__), which this leader refuses: such a key reaches an object's prototype in JavaScript, and no field of the API or variable name takes it`,
    ],
    [
      'a constructor holding prototype, in an array',
      `{${start}, "args": [{"constructor": {"prototype": {"polluted": true}}}]}`,
      `POST /workflows: the body holds the key "constructor" with "prototype" in it (at args[0].constructor.prototype), which this leader refuses: such a key reaches an object's prototype in JavaScript, and no field of the API or variable name takes it`,
    ],
  ];
  for (const [what, body, error] of cases) {
    const res = await post(url, body);
    t.equal(res.status, 400, `${what}: 400`);
    t.same(await res.json(), { error, code: 'BODY_KEY_REFUSED' }, `${what}: named, with its code`);
  }
  t.equal(({} as { polluted?: unknown }).polluted, undefined, 'no prototype gained a property');
  t.equal(runs.length, 0, 'nothing ran');

  // Not a key: a value "__proto__" is data like any other, and still not JSON is said as before.
  const valued = await post(url, `{${start}, "args": ["__proto__"], "env": {"A": "__proto__"}}`);
  t.equal(valued.status, 202, 'a value "__proto__" is taken');
  t.same(runs[0]?.submission.args, ['__proto__']);
  const broken = await post(url, '{"__proto__": ');
  t.same(
    [broken.status, await broken.json()],
    [400, { error: 'POST /workflows: the body is not valid JSON (expected a JSON object)' }],
    'a body that does not parse is still said to be so',
  );
});
