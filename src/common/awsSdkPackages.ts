/**
 * The AWS SDK's client packages, loaded with require rather than import. Each is one CommonJS file
 * (EC2's is 2 MB, SSM's 0.4 MB): imported from an ES module, Node compiles it once to tell whether
 * it is an ES module and scans it for its export names before compiling it to run, which costs the
 * leader, the local cloud and every cluster command ~0.4 s of CPU for EC2 alone; require compiles
 * it once. Each package loads on the first call of its function, not with this module.
 */
import { createRequire } from 'node:module';
import type * as Ec2Sdk from '@aws-sdk/client-ec2';
import type * as IamSdk from '@aws-sdk/client-iam';
import type * as S3Sdk from '@aws-sdk/client-s3';
import type * as SsmSdk from '@aws-sdk/client-ssm';
import type * as SmithyConfig from '@smithy/core/config';

const require = createRequire(import.meta.url);

export const ec2Sdk = (): typeof Ec2Sdk => require('@aws-sdk/client-ec2') as typeof Ec2Sdk;
export const iamSdk = (): typeof IamSdk => require('@aws-sdk/client-iam') as typeof IamSdk;
export const s3Sdk = (): typeof S3Sdk => require('@aws-sdk/client-s3') as typeof S3Sdk;
export const ssmSdk = (): typeof SsmSdk => require('@aws-sdk/client-ssm') as typeof SsmSdk;
/** The SDK's own reader of the shared config files (~/.aws/credentials, ~/.aws/config). */
export const smithyConfig = (): typeof SmithyConfig => require('@smithy/core/config') as typeof SmithyConfig;
