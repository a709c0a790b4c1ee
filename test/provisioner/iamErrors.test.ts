import t from 'tap';
import { translateIamError } from '../../src/provisioner/aws/clusterIam.js';
import { ProvisionerError } from '../../src/provisioner/errors.js';

/** An error as @aws-sdk/client-iam throws it for an answer of IAM's. */
function answered(name: string, message: string, httpStatusCode = 400): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode } });
}

/**
 * IAM refusing a call (its ValidationError, MalformedPolicyDocument, LimitExceeded, …) is AWS's
 * answer, not a fault of toil-ts's: the CLI prints a ProvisionerError's message as one line
 * (exit 1), where any other error was an internal error with a stack trace.
 */
t.test("IAM's refusals are one line naming the command, the call and AWS's message", async (t) => {
  const cases: [Error, string, string][] = [
    [
      answered(
        'ValidationError',
        "1 validation error detected: Value 'x' at 'roleName' failed to satisfy constraint",
      ),
      'CreateRole',
      "launch-cluster: IAM CreateRole failed: ValidationError: 1 validation error detected: Value 'x' at 'roleName' failed to satisfy constraint",
    ],
    [
      answered(
        'MalformedPolicyDocumentException',
        'Partition "aws" is not valid for resource\n  "arn:aws:ec2:us-gov-west-1:*:instance/*".',
      ),
      'PutRolePolicy',
      'launch-cluster: IAM PutRolePolicy failed: MalformedPolicyDocumentException: Partition "aws" is not valid for resource "arn:aws:ec2:us-gov-west-1:*:instance/*".',
    ],
    [
      answered('LimitExceededException', 'Cannot exceed quota for RolesPerAccount: 1000', 409),
      'CreateRole',
      'launch-cluster: IAM CreateRole failed: LimitExceededException: Cannot exceed quota for RolesPerAccount: 1000',
    ],
    [
      answered('ServiceFailureException', 'Service Failure', 500),
      'CreateInstanceProfile',
      'launch-cluster: IAM CreateInstanceProfile failed: ServiceFailureException: Service Failure',
    ],
  ];
  for (const [thrown, action, line] of cases) {
    const e = translateIamError(thrown, action, 'launch-cluster');
    t.ok(e instanceof ProvisionerError, `${thrown.name}: a ProvisionerError (one line from the CLI)`);
    t.equal(e.code, 'IAM_REJECTED', `${thrown.name}: code`);
    t.equal(e.disposition, 'fatal', `${thrown.name}: not the user's input, so a launch removes what it made`);
    t.equal(e.message, line, `${thrown.name}: the line`);
    t.equal((e as ProvisionerError).cloudCode, thrown.name, `${thrown.name}: AWS's code kept for logs`);
  }
  // No answer came (no HTTP status): not IAM refusing anything, but its endpoint not answering,
  // which was an internal error with a stack trace.
  const endpoint = { url: 'http://127.0.0.1:9', setBy: 'AWS_ENDPOINT_URL_IAM' };
  for (const [thrown, why] of [
    [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }),
      'nothing answers at the IAM endpoint http://127.0.0.1:9 (ECONNREFUSED, after retries)',
    ],
    [
      Object.assign(new Error('socket hang up'), { name: 'TimeoutError', code: 'ECONNRESET' }),
      'the IAM endpoint http://127.0.0.1:9 took the connection and closed it without answering (ECONNRESET, after retries)',
    ],
    [
      Object.assign(
        new Error(
          'the request socket did not establish a connection with the server within the configured timeout of 10000 ms.',
        ),
        { name: 'TimeoutError' },
      ),
      'nothing answers at the IAM endpoint http://127.0.0.1:9 (timed out, after retries)',
    ],
  ] as const) {
    const e = translateIamError(thrown, 'CreateRole', 'launch-cluster', endpoint);
    t.ok(e instanceof ProvisionerError, `${why}: a ProvisionerError (one line from the CLI)`);
    t.same([e.code, e.disposition], ['IAM_UNREACHABLE', 'fatal'], `${why}: code`);
    t.equal(
      e.message,
      `launch-cluster: IAM CreateRole: ${why} (expected IAM there; AWS_ENDPOINT_URL_IAM sets the endpoint)`,
      `${why}: the line names the call, the endpoint and the cause`,
    );
  }
  t.match(
    translateIamError(
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      'GetRole',
      'destroy-cluster',
    ).message,
    /^destroy-cluster: IAM GetRole: nothing answers at the IAM endpoint https:\/\/iam\.amazonaws\.com /,
    "without AWS_ENDPOINT_URL_IAM, IAM's own endpoint is named",
  );
  // The ones before: a permission, a name taken, a name gone.
  t.equal(
    translateIamError(answered('AccessDenied', 'not authorized', 403), 'CreateRole', 'launch-cluster').code,
    'IAM_NOT_AUTHORISED',
  );
  t.equal(
    translateIamError(answered('EntityAlreadyExistsException', 'exists', 409), 'CreateRole', 'launch-cluster')
      .code,
    'IAM_EXISTS',
  );
  t.equal(
    translateIamError(answered('NoSuchEntityException', 'gone', 404), 'GetRole', 'destroy-cluster').code,
    'IAM_NOT_FOUND',
  );
});
