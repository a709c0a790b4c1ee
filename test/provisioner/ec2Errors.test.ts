import t from 'tap';
import { ec2Sdk } from '../../src/common/awsSdkPackages.js';
import { classifyEc2ErrorName, translateEc2Error } from '../../src/provisioner/aws/ec2Errors.js';

const { EC2ServiceException } = ec2Sdk();

const table: [name: string, status: number, code: string, disposition: string][] = [
  ['InsufficientInstanceCapacity', 500, 'NO_CAPACITY', 'unavailable'],
  ['InsufficientInstanceCapacity', 400, 'NO_CAPACITY', 'unavailable'],
  ['UnfulfillableCapacity', 400, 'NO_CAPACITY', 'unavailable'],
  ['SpotMaxPriceTooLow', 400, 'SPOT_PRICE_TOO_LOW', 'unavailable'],
  ['RequestLimitExceeded', 503, 'THROTTLED', 'retry'],
  ['Throttling', 400, 'THROTTLED', 'retry'],
  ['SomethingNew', 429, 'THROTTLED', 'retry'],
  ['InternalError', 500, 'EC2_UNAVAILABLE', 'retry'],
  ['Unavailable', 503, 'EC2_UNAVAILABLE', 'retry'],
  ['SomethingNew', 502, 'EC2_UNAVAILABLE', 'retry'],
  ['InstanceLimitExceeded', 400, 'LIMIT_EXCEEDED', 'fatal'],
  ['VcpuLimitExceeded', 400, 'LIMIT_EXCEEDED', 'fatal'],
  ['MaxSpotInstanceCountExceeded', 400, 'LIMIT_EXCEEDED', 'fatal'],
  ['InvalidInstanceID.NotFound', 400, 'NOT_FOUND', 'fatal'],
  ['InvalidGroup.NotFound', 400, 'NOT_FOUND', 'fatal'],
  ['UnauthorizedOperation', 403, 'NOT_AUTHORISED', 'fatal'],
  ['AuthFailure', 401, 'NOT_AUTHORISED', 'fatal'],
  ['DependencyViolation', 400, 'DEPENDENCY_VIOLATION', 'retry'],
  ['InvalidGroup.Duplicate', 400, 'ALREADY_EXISTS', 'fatal'],
  ['InvalidParameterValue', 400, 'REQUEST_REJECTED', 'fatal'],
];

t.test('EC2 error names are translated once, by name before status', async (t) => {
  for (const [name, status, code, disposition] of table) {
    t.equal(classifyEc2ErrorName(name, status), code, `${name} ${status} → ${code}`);
    const sdkError = new EC2ServiceException({
      name,
      $fault: status >= 500 ? 'server' : 'client',
      $metadata: { httpStatusCode: status, requestId: 'req-1' },
      message: `boom ${name}`,
    });
    const e = translateEc2Error(sdkError, 'RunInstances');
    t.same([e.code, e.disposition, e.cloudCode], [code, disposition, name]);
    t.match(e.message, new RegExp(`^EC2 RunInstances failed: ${name.replace('.', '\\.')}: boom`));
    t.equal(e.details.requestId, 'req-1');
  }
});

t.test('network failures before any answer are EC2_UNAVAILABLE (retry)', async (t) => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
  t.same(
    [translateEc2Error(refused, 'DescribeInstances').code, translateEc2Error(refused, 'x').disposition],
    ['EC2_UNAVAILABLE', 'retry'],
  );
  const timeout = Object.assign(new Error('timed out'), { name: 'TimeoutError' });
  t.equal(translateEc2Error(timeout, 'x').code, 'EC2_UNAVAILABLE');
  const already = translateEc2Error(refused, 'x');
  t.equal(translateEc2Error(already, 'y'), already, 'a translated error passes through unchanged');
});

t.test(
  'an EC2 endpoint where nothing answers is named, with what sets it (as the SDK throws it)',
  async (t) => {
    const endpoint = { url: 'http://127.0.0.1:1', setBy: 'AWS_ENDPOINT_URL_EC2' };
    // The SDK keeps `$metadata` (its attempts) on a connect failure; there is no HTTP status.
    const sdkShaped = (message: string, fields: Record<string, unknown>) =>
      Object.assign(new Error(message), { ...fields, $metadata: { attempts: 3, totalRetryDelay: 0 } });
    const cases: [thrown: Error, why: string][] = [
      [sdkShaped('connect ECONNREFUSED 127.0.0.1:1', { code: 'ECONNREFUSED' }), 'ECONNREFUSED'],
      [sdkShaped('getaddrinfo ENOTFOUND ec2.nowhere', { code: 'ENOTFOUND' }), 'ENOTFOUND'],
      [
        sdkShaped(
          '@smithy/node-http-handler - the request socket did not establish a connection with the server within the configured timeout of 10000 ms.',
          { name: 'TimeoutError' },
        ),
        'timed out',
      ],
    ];
    for (const [thrown, why] of cases) {
      const e = translateEc2Error(thrown, 'DescribeInstances', endpoint);
      t.same([e.code, e.disposition], ['EC2_UNAVAILABLE', 'retry'], `${why}: EC2_UNAVAILABLE (retry)`);
      t.equal(
        e.message,
        `EC2 DescribeInstances: nothing answers at the EC2 endpoint http://127.0.0.1:1 (${why}, after retries) (expected EC2 there; AWS_ENDPOINT_URL_EC2 sets the endpoint)`,
      );
    }
    // Taken and closed unanswered (a proxy or server dropping it): the SDK's "socket hang up"
    // named neither the service nor the endpoint.
    const reset = Object.assign(sdkShaped('socket hang up', { code: 'ECONNRESET' }), {
      name: 'TimeoutError',
    });
    const dropped = translateEc2Error(reset, 'RunInstances', endpoint);
    t.same(
      [dropped.code, dropped.disposition],
      ['EC2_UNAVAILABLE', 'retry'],
      'reset: EC2_UNAVAILABLE (retry)',
    );
    t.equal(
      dropped.message,
      'EC2 RunInstances: the EC2 endpoint http://127.0.0.1:1 took the connection and closed it without answering (ECONNRESET, after retries) (expected EC2 there; AWS_ENDPOINT_URL_EC2 sets the endpoint)',
      'a reset connection names the endpoint and the cause',
    );
    const answered = Object.assign(sdkShaped('socket hang up', { code: 'ECONNRESET' }), {
      $metadata: { httpStatusCode: 500 },
    });
    t.match(
      translateEc2Error(answered, 'RunInstances', endpoint).message,
      /^EC2 RunInstances failed: /,
      'with an HTTP status an answer came: the answer is the error',
    );
  },
);
