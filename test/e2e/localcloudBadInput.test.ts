import { createServer, type AddressInfo } from 'node:net';
import t from 'tap';
import { runToil } from '../fixtures/ec2ToilCli.js';

/**
 * `toil localcloud` given a port something else holds, or a bad flag, is one line naming the flag
 * and exit 2, and nothing is left listening: it printed an internal error and, when the Mesos
 * master had already started, kept running (a hang with nothing to stop it but a signal).
 */
t.setTimeout(120_000);

t.test('a taken port or a bad flag: one line, exit 2, the process ends', async (t) => {
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  t.teardown(() => void holder.close());
  const taken = (holder.address() as AddressInfo).port;
  const inUse = (flag: string) =>
    new RegExp(
      `^toil: ${flag} ${taken}: 127\\.0\\.0\\.1:${taken} is in use \\(another toil localcloud\\?\\); choose another port, or 0 for any free one$`,
    );
  const cases: [name: string, args: string[], expected: RegExp][] = [
    [
      'the EC2 port taken',
      ['localcloud', '--ec2-port', String(taken), '--mesos-port', '0'],
      inUse('--ec2-port'),
    ],
    [
      'the Mesos port taken',
      ['localcloud', '--ec2-port', '0', '--mesos-port', String(taken)],
      inUse('--mesos-port'),
    ],
    [
      'a bad flag read after the master would have started',
      ['localcloud', '--throttle-rate', '2'],
      /^toil: --throttle-rate: '2' is not a fraction between 0 and 1$/,
    ],
    [
      'a port that is no number',
      ['localcloud', '--ec2-port', 'abc'],
      /^toil: --ec2-port: 'abc' is not a whole number$/,
    ],
    [
      'a host that is no address of this machine',
      ['localcloud', '--host', '10.9.9.9', '--ec2-port', '0', '--mesos-port', '0'],
      /^toil: --host 10\.9\.9\.9: not an address of this machine \(EADDRNOTAVAIL\); expected e\.g\. 127\.0\.0\.1, or 0\.0\.0\.0 for every interface$/,
    ],
    [
      'spot prices that never move',
      ['localcloud', '--spot-price-step', '0', '--ec2-port', '0', '--mesos-port', '0'],
      /^toil: --spot-price-step: '0' is not a duration more than 0, like 5m$/,
    ],
    ['localcloud ec2, its port taken', ['localcloud', 'ec2', '--port', String(taken)], inUse('--port')],
    ['localcloud mesos, its port taken', ['localcloud', 'mesos', '--port', String(taken)], inUse('--port')],
  ];
  for (const [name, args, expected] of cases) {
    const started = Date.now();
    const r = await runToil(args, {}, 30_000);
    t.equal(
      r.code,
      2,
      `${name}: exit 2 after ${Date.now() - started} ms (stderr: ${r.stderr.slice(0, 1500)})`,
    );
    const lines = r.stderr
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('{'));
    t.equal(lines.length, 1, `${name}: one line`);
    t.match(lines[0], expected, name);
    t.notMatch(r.stderr, /internal error|\n\s+at /, `${name}: no internal error, no stack`);
  }
});
