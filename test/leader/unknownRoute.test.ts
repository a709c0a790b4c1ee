import { join } from 'node:path';
import t from 'tap';
import { STATE_DAEMON_TOKEN, daemonOnState } from '../fixtures/stateDaemon.js';
import { testDir } from '../fixtures/testDir.js';

/**
 * A path no route takes, asked with the token, is 404 naming the method and path whatever its
 * body: a POST to one with a body that is not JSON, too large or holding a refused key was
 * answered as if a route had read it (400 "not valid JSON", 413). Without the token a request no
 * route takes is judged as a request of its method is: another method than GET or HEAD is 401,
 * as a submission is, so the leader says nothing of which routes it has to one without the token;
 * GET and HEAD as the read-only routes are (404 while they are open, 401 once closed).
 */
const BEARER = { authorization: `Bearer ${STATE_DAEMON_TOKEN}` };
const MISSING = /^missing bearer token: send 'Authorization: Bearer TOKEN'/;

async function ask(
  url: string,
  method: string,
  path: string,
  o: { headers?: Record<string, string>; body?: string; type?: string } = {},
): Promise<[number, unknown]> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      ...o.headers,
      ...(o.body !== undefined ? { 'content-type': o.type ?? 'application/json' } : {}),
    },
    ...(o.body !== undefined ? { body: o.body } : {}),
  });
  return [res.status, method === 'HEAD' ? undefined : await res.json()];
}

t.test('with the token, a path no route takes is 404 naming it, whatever its body', async (t) => {
  const { url } = await daemonOnState(t, join(testDir(t), 'state'));
  const cases: [method: string, path: string, body?: string, type?: string][] = [
    ['GET', '/v1/nope'],
    ['POST', '/runs/x/y', '{}'],
    ['POST', '/runs/x/y', '{"workflowFile": '],
    ['POST', '/runs/x/y', ''],
    ['POST', '/runs/x/y', '{"env": {"__proto__": "x"}}'],
    ['POST', '/runs/x/y', `{"args":["${'x'.repeat(2 * 1024 * 1024)}"]}`],
    ['POST', '/runs/x/y', '<run/>', 'application/xml'],
    ['PUT', '/workflows', '{"workflowFile": '],
    ['DELETE', '/status'],
  ];
  for (const [method, path, body, type] of cases) {
    const what = `${method} ${path} ${body === undefined ? '' : `(${body.slice(0, 20)})`}`;
    t.same(
      await ask(url, method, path, {
        headers: BEARER,
        ...(body !== undefined ? { body } : {}),
        ...(type ? { type } : {}),
      }),
      [404, { error: `no route ${method} ${path} on this leader` }],
      what,
    );
  }
  const [head] = await ask(url, 'HEAD', '/v1/nope', { headers: BEARER });
  t.equal(head, 404, 'HEAD /v1/nope');
});

t.test('without the token, a path no route takes is judged as its method is', async (t) => {
  const dir = testDir(t);
  const open = await daemonOnState(t, join(dir, 'open'));
  const closed = await daemonOnState(t, join(dir, 'closed'), { status: 'token' });
  for (const [method, body] of [
    ['POST', '{"workflowFile": '],
    ['PUT', '{}'],
    ['DELETE', undefined],
  ] as const) {
    for (const { url } of [open, closed]) {
      const [status, answer] = await ask(url, method, '/runs/x/y', body !== undefined ? { body } : {});
      t.equal(status, 401, `${method} /runs/x/y: 401, as POST /workflows is`);
      t.match(answer, { error: MISSING });
      const [wrong] = await ask(url, method, '/runs/x/y', {
        headers: { authorization: 'Bearer wrong-token-0123456789' },
      });
      t.equal(wrong, 401, `${method} /runs/x/y with a wrong token: 401`);
    }
  }
  t.same(
    await ask(open.url, 'GET', '/v1/nope'),
    [404, { error: 'no route GET /v1/nope on this leader' }],
    'GET while the read-only routes are open: 404, as they are served',
  );
  t.equal((await ask(open.url, 'HEAD', '/v1/nope'))[0], 404, 'HEAD likewise');
  const [status, answer] = await ask(closed.url, 'GET', '/v1/nope');
  t.equal(status, 401, 'GET once they are closed (http.auth.status: token): 401, as /status is');
  t.match(answer, { error: MISSING });
});
