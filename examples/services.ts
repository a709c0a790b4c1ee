/**
 * Toil's services tutorial (tutorial_services.py), with a real service: the root job `j` adds a
 * small HTTP key-value store as a service and a child `dbFn` that uses it through the address
 * the service's start returned (its rv()). The service starts before the child runs and is
 * stopped once the child (every successor of `j`) has completed. `j` is a checkpoint, as Toil's
 * manual advises for a job hosting a service: should the service fail, `j` runs again and
 * defines a new service and new successors.
 *
 *   npx toil run examples/services.ts file:./js-services
 *
 * The service listens on this machine's loopback: run it with the single_machine batch system
 * (the default), or make it listen on an address the other nodes reach.
 */
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { defineJob, defineService, defineWorkflow } from 'toil-ts';

const SMALL = { cores: 0.1, memory: '128Mi', disk: '1Mi' } as const;

/** A store of strings by key: PUT /key stores the body, GET /key returns it. */
class KeyValueService {
  private server: Server | undefined;
  private readonly values = new Map<string, string>();

  async start(): Promise<string> {
    const server = createServer((req, res) => {
      const key = req.url ?? '/';
      if (req.method === 'PUT') {
        let body = '';
        req.on('data', (d: Buffer) => (body += d.toString()));
        req.on('end', () => {
          this.values.set(key, body);
          res.end();
        });
      } else {
        res.statusCode = this.values.has(key) ? 200 : 404;
        res.end(this.values.get(key) ?? '');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    // What a client needs to connect: Toil's "loginCredentials".
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  check(): boolean {
    return this.server?.listening === true;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

const keyValueStore = defineService<null, string>('keyValueStore', SMALL, () => new KeyValueService());

const dbFn = defineJob<string, string>('dbFn', SMALL, async (job, url) => {
  await fetch(`${url}/greeting`, { method: 'PUT', body: 'hello from the service' });
  const value = await (await fetch(`${url}/greeting`)).text();
  job.log.info(`read back: ${value}`);
  return value;
});

const j = defineJob<null, string>('j', { ...SMALL, checkpoint: true }, (job) => {
  const loginCredentials = job.addService(keyValueStore, null).rv();
  return job.addChild(dbFn, loginCredentials).rv();
});

export default defineWorkflow<string>({
  start: (ctx) => ctx.root(j, null),
  finish: (ctx, value) => ctx.log.info(`the workflow read: ${value}`),
});
