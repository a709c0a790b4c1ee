/**
 * The local Mesos stand-in: a master that speaks Mesos' HTTP APIs and agents that are processes.
 */
export { startMesosMaster, type MesosMasterHandle, type MesosMasterOptions } from './masterServer.js';
export { startAgentProcess, type AgentProcessHandle, type AgentProcessOptions } from './agentProcess.js';
export { LocalMesosAgent, type AgentOptions } from './agent.js';
export { parseAttributesFlag, parseResourcesFlag } from './agentFlags.js';
