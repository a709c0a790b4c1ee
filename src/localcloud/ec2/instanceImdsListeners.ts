import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NodeProcess } from './agents.js';

/**
 * One loopback listener per instance for its metadata service. The AWS SDK keeps only the host
 * and port of AWS_EC2_METADATA_SERVICE_ENDPOINT (it requests `/latest/...` itself), so instances
 * sharing this machine are told apart by port: each gets `http://127.0.0.1:PORT`, serving at its
 * root what `/imds/<instance-id>/` serves on the EC2 endpoint.
 *
 * A listener opens when the instance is launched, so its address is known by the time the
 * instance runs and its processes start; it closes when the instance is gone.
 */
export class InstanceImdsListeners {
  private readonly host: string;
  private readonly handle: (
    req: IncomingMessage,
    res: ServerResponse,
    instanceId: string,
    sub: string,
  ) => void;
  private readonly listeners = new Map<string, { server: Server; url?: string; ready: Promise<string> }>();

  constructor(options: {
    host?: string;
    handle: (req: IncomingMessage, res: ServerResponse, instanceId: string, sub: string) => void;
  }) {
    this.host = options.host ?? '127.0.0.1';
    this.handle = options.handle;
  }

  open(instanceId: string): void {
    if (this.listeners.has(instanceId)) return;
    const server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      this.handle(req, res, instanceId, path);
    });
    server.keepAliveTimeout = 1000;
    const entry: { server: Server; url?: string; ready: Promise<string> } = {
      server,
      ready: new Promise<string>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, this.host, () => {
          const addr = server.address() as AddressInfo;
          entry.url = `http://${addr.address}:${addr.port}`;
          resolve(entry.url);
        });
      }),
    };
    entry.ready.catch(() => undefined);
    this.listeners.set(instanceId, entry);
  }

  /** The instance's endpoint if its listener is up already. */
  url(instanceId: string): string | undefined {
    return this.listeners.get(instanceId)?.url;
  }

  /** The instance's endpoint once its listener is up (opening one if needed). */
  ready(instanceId: string): Promise<string> {
    this.open(instanceId);
    return this.listeners.get(instanceId)!.ready;
  }

  close(instanceId: string): void {
    const entry = this.listeners.get(instanceId);
    if (!entry) return;
    this.listeners.delete(instanceId);
    entry.server.closeAllConnections();
    entry.server.close();
  }

  async closeAll(): Promise<void> {
    const all = [...this.listeners.values()];
    this.listeners.clear();
    await Promise.all(
      all.map(
        (e) =>
          new Promise<void>((resolve) => {
            e.server.closeAllConnections();
            e.server.close(() => resolve());
          }),
      ),
    );
  }
}

/**
 * A node process whose start waits for something (its metadata listener): `pid` is known once it
 * has started, and `stop()` stops it whenever it starts, so an instance that ends first leaves
 * nothing behind.
 */
export function deferredProcess(started: Promise<NodeProcess>, onError: (err: unknown) => void): NodeProcess {
  let proc: NodeProcess | undefined;
  started.then(
    (p) => (proc = p),
    (err: unknown) => onError(err),
  );
  return {
    get pid() {
      return proc?.pid;
    },
    async stop() {
      const p = await started.catch(() => undefined);
      await p?.stop();
    },
  };
}
