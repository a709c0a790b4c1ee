export { startEc2Endpoint, type Ec2Endpoint, type Ec2EndpointOptions } from './server.js';
export { FaultInjector, type FaultOptions, type CapacityRule, type Market } from './faults.js';
export type { NodeProcessLauncher, NodeProcess, AgentSpec } from './agents.js';
export { parseNodeUserData, type NodeBootSpec } from './nodeUserData.js';
