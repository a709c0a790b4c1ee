/**
 * The composition root: the only code that builds concrete clients (AWS SDK, Mesos, HTTP) and
 * reads the environment, and wires them into the ports the rest of the code takes. CLI entry
 * points call the factories; nothing else imports an adapter directly. Split by what it builds:
 *
 * - `main/env.ts`: the environment a factory reads, and what the cluster utilities take from it;
 * - `main/awsClients.ts`: the AWS SDK clients (EC2, IAM, SSM), endpoints and credentials, once;
 * - `main/s3Client.ts`: the S3 client (the aws: job store), apart so the others do not load it;
 * - `main/jobStores.ts`: job stores and their storage from a locator;
 * - `main/batchSystems.ts`: the batch systems and the worker command;
 * - `main/leader.ts`: the leader daemon (provisioner, embedded local cloud, HTTP), with its own
 *   state in `main/leaderState.ts`.
 */
export * from './main/env.js';
export * from './main/awsClients.js';
export * from './main/s3Client.js';
export * from './main/jobStores.js';
export * from './main/batchSystems.js';
export * from './main/leader.js';
