import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/log.js';
import {
  CliAgentLauncher,
  CliNodeCommandLauncher,
  sweepAbandonedInstanceHomes,
  type NodeCommandLauncher,
  type NodeProcessLauncher,
} from './agents.js';
import { INSTANCE_TYPES_BY_NAME } from './catalogue.js';
import { ACTIONS, MUTATING_ACTIONS } from './ec2Actions.js';
import { Ec2ApiError, Ec2Cloud } from './ec2Cloud.js';
import { FaultInjector, type FaultOptions } from './faults.js';
import { InstanceMetadataService } from './imds.js';
import { InstanceImdsListeners } from './instanceImdsListeners.js';
import { QueryParams } from './query.js';
import { authorizeRoleCall, signingKeyId, signingRegion, type RolePolicies } from './roleAuthorization.js';
import { SpotMarket, type SpotMarketOptions } from './spotMarket.js';
import { errorDocument, responseDocument } from './xml.js';

export interface Ec2EndpointOptions {
  readonly clock: Clock;
  readonly log: Logger;
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  readonly host?: string;
  readonly region?: string;
  readonly bootDelayMs?: number;
  readonly shutdownDelayMs?: number;
  readonly interruptionNoticeMs?: number;
  /** What instances report as their public address; `null` for none. Default 127.0.0.1. */
  readonly publicIp?: string | null;
  /**
   * HOST:PORT that running workers join: the local Mesos master their agents register with, or the
   * Slurm controller the slurmd a `launcher` starts joins.
   */
  readonly mesosMaster?: string;
  /** How running workers become processes; default spawns `toil localcloud agent`. */
  readonly launcher?: NodeProcessLauncher;
  /**
   * How the `toil` commands of a running instance's other units (the rebalance watch) become
   * processes: `true` runs `toil` itself, offered this endpoint as its EC2 endpoint (the default
   * with a Mesos master or Slurm controller: when instances run processes at all); `false` none.
   */
  readonly nodeCommands?: NodeCommandLauncher | boolean;
  /** The inline policy of a role, by name: calls signed with its instances' credentials are checked against it. */
  readonly rolePolicies?: RolePolicies;
  /**
   * The S3 endpoint the nodes are offered (like a VPC endpoint): their processes get it as
   * AWS_ENDPOINT_URL_S3. Nothing else of this process's environment reaches them.
   */
  readonly s3Endpoint?: string;
  readonly faults?: FaultOptions;
  /** How often due state changes are applied between requests (clock time). */
  readonly tickMs?: number;
  /** The moving spot market (seed defaults to the faults' seed). */
  readonly spotMarket?: SpotMarketOptions;
}

export interface Ec2EndpointStats {
  requests: number;
  errors: number;
  readonly byAction: Map<string, number>;
}

export interface Ec2Endpoint {
  /** http://HOST:PORT — give it to the SDK as the EC2 endpoint. */
  readonly url: string;
  /** The home region: where unsigned calls and the control surface go. */
  readonly region: string;
  /** The home region's state; another region's is made by its first call. */
  readonly cloud: Ec2Cloud;
  /** Fault injection, adjustable while running. */
  readonly faults: FaultInjector;
  readonly stats: Ec2EndpointStats;
  /** Announces a spot interruption for the instance (notice now, reclaimed after the notice period). */
  interruptSpot(instanceId: string, noticeMs?: number): void;
  /** Stops an instance as if from the console (for destroy-cluster with a stopped leader). */
  stopInstance(instanceId: string): void;
  /** From now on the type costs `price` $/h on spot (in `zone`, or every zone). */
  setSpotPrice(instanceType: string, zone: string | undefined, price: number): void;
  stop(): Promise<void>;
}

/** One region of the local cloud: its state and its instances' metadata service. */
interface Region {
  readonly cloud: Ec2Cloud;
  readonly metadata: InstanceMetadataService;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * Starts the local EC2 endpoint: the EC2 Query API over HTTP (form-encoded `Action=…` in,
 * EC2's XML out, errors as `<Response><Errors>` with status ≥ 400 and the `x-amzn-requestid`
 * header), the per-instance metadata service under `/imds/`, and a small control surface under
 * `/_localcloud/` for people and tests (state, spot interruptions).
 */
export async function startEc2Endpoint(options: Ec2EndpointOptions): Promise<Ec2Endpoint> {
  const log = options.log.child({ component: 'localcloud-ec2' });
  // A local cloud killed before it could stop its instances (kill -9) left their homes behind.
  const abandoned = await sweepAbandonedInstanceHomes();
  if (abandoned.length > 0)
    log.info({ removed: abandoned }, 'removed the homes of instances whose local cloud was killed');
  const faults = new FaultInjector(options.faults);
  // Each instance's own listener answers through its region's metadata service.
  const instanceImds = new InstanceImdsListeners({
    host: options.host ?? '127.0.0.1',
    handle: (req, res, id, sub) => holding(id).metadata.handleInstance(req, res, id, sub),
  });
  // Node processes are offered this endpoint, whose address is known once it listens.
  const endpointUrl: { url?: string } = {};
  const nodeCommandsOption = options.nodeCommands ?? options.mesosMaster !== undefined;
  const nodeCommands =
    typeof nodeCommandsOption === 'object'
      ? nodeCommandsOption
      : nodeCommandsOption
        ? new CliNodeCommandLauncher({ log, ec2Endpoint: () => endpointUrl.url ?? '' })
        : undefined;
  // One cloud per region, as EC2 is: a call is answered by the region its signature names (the
  // SDK signs for the region it was given), made on first use; unsigned calls go to the home region.
  const newCloud = (region: string): Ec2Cloud =>
    new Ec2Cloud({
      region,
      homeRegion: options.region ?? 'us-west-2',
      clock: options.clock,
      log,
      faults,
      bootDelayMs: options.bootDelayMs ?? 2000,
      shutdownDelayMs: options.shutdownDelayMs ?? 1000,
      interruptionNoticeMs: options.interruptionNoticeMs ?? 120_000,
      publicIp: options.publicIp === null ? undefined : (options.publicIp ?? '127.0.0.1'),
      mesosMaster: options.mesosMaster,
      launcher:
        options.launcher ??
        (options.mesosMaster
          ? new CliAgentLauncher({ log, ...(options.s3Endpoint ? { s3Endpoint: options.s3Endpoint } : {}) })
          : undefined),
      ...(nodeCommands ? { nodeCommands } : {}),
      instanceImds,
      spotMarket: new SpotMarket(options.clock.now(), {
        seed: options.faults?.seed,
        ...options.spotMarket,
      }),
    });
  const regions = new Map<string, Region>();
  const regionNamed = (name: string): Region => {
    let region = regions.get(name);
    if (!region) {
      const regionCloud = newCloud(name);
      region = { cloud: regionCloud, metadata: new InstanceMetadataService(regionCloud) };
      regions.set(name, region);
      if (regions.size > 1) log.info({ region: name, zones: regionCloud.zones }, 'region opened');
    }
    return region;
  };
  const home = regionNamed(options.region ?? 'us-west-2');
  const { cloud, metadata } = home;
  /** The region whose cloud has the instance (its home region if none has). */
  const holding = (instanceId: string): Region =>
    [...regions.values()].find((r) => r.cloud.instances.has(instanceId)) ?? home;
  const setSpotPrice = (instanceType: string, zone: string | undefined, price: number): void => {
    if (!INSTANCE_TYPES_BY_NAME.has(instanceType)) throw new Error(`unknown instance type ${instanceType}`);
    if (zone !== undefined && !cloud.zones.includes(zone)) throw new Error(`unknown zone ${zone}`);
    cloud.spotMarket.setPrice(instanceType, zone, price, options.clock.now());
    log.info({ instanceType, zone, price }, 'spot price set');
    cloud.settle();
  };
  const stats: Ec2EndpointStats = { requests: 0, errors: 0, byAction: new Map() };

  const sendXml = (res: ServerResponse, status: number, requestId: string, body: string): void => {
    res.writeHead(status, {
      'content-type': 'text/xml;charset=UTF-8',
      'content-length': Buffer.byteLength(body),
      'x-amzn-requestid': requestId,
    });
    res.end(body);
  };
  const sendError = (res: ServerResponse, requestId: string, e: Ec2ApiError): void => {
    stats.errors++;
    sendXml(res, e.status, requestId, errorDocument(e.code, e.message, requestId));
  };

  const handleControl = (req: IncomingMessage, res: ServerResponse, path: string): boolean => {
    if (!path.startsWith('/_localcloud/')) return false;
    const json = (status: number, body: unknown): void => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    };
    cloud.settle();
    // POST /_localcloud/<action>/<instance-id>: one instance's event, answered with what changed.
    const instanceEvents: Record<string, (id: string, cloud: Ec2Cloud) => Record<string, unknown>> = {
      'spot-interruption': (id, cloud) => {
        cloud.interruptSpot(id);
        return { interruption: cloud.instances.get(id)?.interruption };
      },
      rebalance: (id, cloud) => {
        cloud.recommendRebalance(id);
        return { rebalanceAt: cloud.instances.get(id)?.rebalanceAt };
      },
      stop: (id, cloud) => {
        cloud.stopInstance(id);
        return { state: cloud.instances.get(id)?.state };
      },
    };
    const event = /^\/_localcloud\/([a-z-]+)\/(i-[0-9a-f]+)$/.exec(path);
    const apply = event && Object.hasOwn(instanceEvents, event[1]!) ? instanceEvents[event[1]!] : undefined;
    if (event && apply && req.method === 'POST') {
      try {
        json(200, { instanceId: event[2], ...apply(event[2]!, holding(event[2]!).cloud) });
      } catch (e) {
        json(400, { error: (e as Error).message });
      }
      return true;
    }
    if (path === '/_localcloud/spot-price' && req.method === 'POST') {
      void readBody(req).then((body) => {
        try {
          const { instanceType, zone, price } = JSON.parse(body) as {
            instanceType: string;
            zone?: string;
            price: number;
          };
          setSpotPrice(instanceType, zone, Number(price));
          json(200, { instanceType, zone, price });
        } catch (e) {
          json(400, { error: (e as Error).message });
        }
      });
      return true;
    }
    if (path === '/_localcloud/state' && req.method === 'GET') {
      json(200, {
        region: cloud.region,
        instances: [...cloud.instances.values()].map((i) => ({
          instanceId: i.id,
          type: i.type.name,
          zone: i.zone,
          market: i.market,
          state: i.state,
          launchTime: i.launchTime,
          rootVolumeGiB: i.rootVolumeGiB,
          ...(i.interruption ? { interruption: i.interruption } : {}),
          privateIp: i.privateIp,
          agentPid: i.process?.pid,
          instanceProfileArn: i.iamInstanceProfileArn,
          roleCredentialRequests: metadata.credentials.requests.get(i.id) ?? 0,
          tags: Object.fromEntries(i.tags),
        })),
        securityGroups: [...cloud.securityGroups.values()].map((g) => ({ groupId: g.id, groupName: g.name })),
        faults: faults.counts,
        requests: stats.requests,
      });
      return true;
    }
    json(404, { error: 'not found' });
    return true;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const imdsOf = /^\/imds\/(i-[0-9a-f]+)\//.exec(url.pathname)?.[1];
    const imds = imdsOf === undefined ? metadata : holding(imdsOf).metadata;
    if (imds.handle(req, res, url.pathname) || handleControl(req, res, url.pathname)) return;
    const target = regionNamed(signingRegion(req) ?? cloud.region).cloud;
    const requestId = randomUUID();
    const body = await readBody(req);
    const params = QueryParams.parse(req.method === 'GET' ? url.search.slice(1) : body);
    const action = params.get('Action') ?? '';
    stats.requests++;
    stats.byAction.set(action, (stats.byAction.get(action) ?? 0) + 1);
    const handler = Object.hasOwn(ACTIONS, action) ? ACTIONS[action] : undefined;
    if (!handler) {
      sendError(
        res,
        requestId,
        new Ec2ApiError(
          'InvalidAction',
          `The action ${action || '(none)'} is not valid for this web service.`,
        ),
      );
      return;
    }
    // A node's call with its role's credentials: what the role's policy allows, as IAM decides.
    const keyId = signingKeyId(req);
    const caller =
      keyId === undefined
        ? undefined
        : [...regions.values()]
            .map((r) => r.metadata.credentials.holderOf(keyId))
            .find((c) => c !== undefined);
    const policy = caller && options.rolePolicies?.(caller.role);
    if (caller && policy) {
      try {
        target.settle();
        authorizeRoleCall(target, action, params, caller, policy);
      } catch (e) {
        if (!(e instanceof Ec2ApiError)) throw e;
        log.info({ action, caller, code: e.code }, 'role call refused');
        sendError(res, requestId, e);
        return;
      }
    }
    // DryRun: EC2 checks the caller may act and answers DryRunOperation, changing nothing.
    if (params.bool('DryRun')) {
      sendError(
        res,
        requestId,
        new Ec2ApiError('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412),
      );
      return;
    }
    const fault = faults.draw();
    if (fault?.kind === 'throttle') {
      sendError(res, requestId, new Ec2ApiError('RequestLimitExceeded', 'Request limit exceeded.', 503));
      return;
    }
    const serverError = (): Ec2ApiError =>
      fault?.kind === 'server-error' && fault.status === 503
        ? new Ec2ApiError('Unavailable', 'The server is overloaded and cannot handle the request.', 503)
        : new Ec2ApiError('InternalError', 'An internal error has occurred.', 500);
    if (fault?.kind === 'server-error' && !(fault.after && MUTATING_ACTIONS.has(action))) {
      sendError(res, requestId, serverError());
      return;
    }
    try {
      target.settle();
      const xml = responseDocument(action, requestId, handler(target, params));
      // The call took effect but its answer is lost: the caller sees a 5xx and must retry.
      if (fault?.kind === 'server-error') {
        faults.counts.lostResponses++;
        sendError(res, requestId, serverError());
      } else sendXml(res, 200, requestId, xml);
    } catch (e) {
      if (e instanceof Ec2ApiError) {
        log.debug({ action, code: e.code, message: e.message }, 'request refused');
        sendError(res, requestId, e);
      } else {
        log.error({ action, err: e }, 'request failed');
        sendError(res, requestId, new Ec2ApiError('InternalError', 'An internal error has occurred.', 500));
      }
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error({ err }, 'request handling failed');
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const baseUrl = `http://${addr.address}:${addr.port}`;
  endpointUrl.url = baseUrl;
  log.info(
    // The workers may join a Slurm controller (its launcher starts slurmd), not a Mesos master.
    { url: baseUrl, region: cloud.region, workersJoin: options.mesosMaster },
    'local EC2 endpoint listening',
  );

  // Due transitions happen between requests too (an agent must start when its instance boots,
  // not when someone next asks), so a loop on the injected clock applies them.
  const ticker = new AbortController();
  const tickMs = options.tickMs ?? 100;
  const loop = (async () => {
    while (!ticker.signal.aborted) {
      try {
        await options.clock.sleep(tickMs, ticker.signal);
      } catch {
        return;
      }
      for (const r of regions.values()) r.cloud.settle();
    }
  })();

  return {
    url: baseUrl,
    region: cloud.region,
    cloud,
    faults,
    stats,
    interruptSpot: (id, noticeMs) => holding(id).cloud.interruptSpot(id, noticeMs),
    stopInstance: (id) => holding(id).cloud.stopInstance(id),
    setSpotPrice,
    async stop() {
      ticker.abort();
      await loop;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...regions.values()].map((r) => r.cloud.stopAllProcesses()));
      await instanceImds.closeAll();
    },
  };
}
