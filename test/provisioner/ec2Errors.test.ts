import t from 'tap';
import { EC2ServiceException } from '@aws-sdk/client-ec2';
import { classifyEc2ErrorName, translateEc2Error } from '../../src/provisioner/aws/ec2Errors.js';

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
