/**
 * The composition root: the only module that builds concrete clients (AWS SDK, Mesos, HTTP) and
 * reads the environment, and wires them into the ports the rest of the code takes. CLI entry
 * points call the factories below; nothing else imports an adapter directly.
 */
export {};
