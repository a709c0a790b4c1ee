import t from 'tap';
import { parseMesosJson, stringifyMesosJson, toBigInt, toNumber } from '../../src/mesos/json.js';

t.test('nanosecond integers beyond 2^53 are parsed exactly, as bigints', async (t) => {
  const v = parseMesosJson('{"registered_time":{"nanoseconds":1712340100530000001},"n":15,"f":2.5}') as {
    registered_time: { nanoseconds: bigint };
    n: number;
    f: number;
  };
  t.equal(v.registered_time.nanoseconds, 1712340100530000001n, 'JSON.parse would give ...000000');
  t.not(BigInt(JSON.parse('1712340100530000001')), 1712340100530000001n, 'JSON.parse loses the last digits');
  t.equal(v.n, 15, 'small integers stay numbers');
  t.equal(v.f, 2.5);
  const neg = parseMesosJson('[-9007199254740993, 9007199254740991]') as unknown[];
  t.equal(neg[0], -9007199254740993n);
  t.equal(neg[1], 9007199254740991, 'the largest safe integer stays a number');
});

t.test('digits inside strings, escapes and exponents are left alone', async (t) => {
  const v = parseMesosJson('{"id":"12345678901234567890","q":"a\\"1234567890123456789\\"","e":1e300}') as {
    id: string;
    q: string;
    e: number;
  };
  t.equal(v.id, '12345678901234567890');
  t.equal(v.q, 'a"1234567890123456789"');
  t.equal(v.e, 1e300);
  t.throws(() => parseMesosJson('{"a":12345678901234567890'), SyntaxError, 'invalid JSON still throws');
});

t.test('bigints are written back as bare integer literals', async (t) => {
  const text = stringifyMesosJson({ nanoseconds: 1712340100530000001n, s: 'x' });
  t.equal(text, '{"nanoseconds":1712340100530000001,"s":"x"}');
  t.equal(stringifyMesosJson({ a: 1 }), '{"a":1}');
  t.same(parseMesosJson(text), { nanoseconds: 1712340100530000001n, s: 'x' }, 'round trip');
});

t.test('integer fields accept what Mesos accepts: numbers, bigints, numeric strings', async (t) => {
  t.equal(toBigInt('600'), 600n);
  t.equal(toBigInt(600), 600n);
  t.equal(toBigInt(1n), 1n);
  t.equal(toBigInt('6x'), undefined);
  t.equal(toNumber('600'), 600);
  t.equal(toNumber(5n), 5);
  t.equal(toNumber(''), undefined);
});
