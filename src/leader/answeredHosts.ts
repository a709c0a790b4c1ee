import { isIP } from 'node:net';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../common/log.js';
import { shownInError } from './shownText.js';

/**
 * The hosts a leader answers to, judged by a request's Host header. A web page can make a browser
 * send requests to this machine under the page's own name (its DNS answers with 127.0.0.1 or the
 * leader's address: DNS rebinding), and read the answers as its own; only the Host header tells
 * such a request apart, since the page names its own host there. So the leader answers:
 * - any IP address: a page at an IP address is that address's own, so no name was rebound (and a
 *   leader on 0.0.0.0 is reached by addresses it cannot know, an EC2 public one behind NAT);
 * - `localhost`, the name `http.host` gives, and, listening on every interface, the machine's
 *   hostname (as the OS gives it, and its first label);
 * - the names of `http.allowedHosts`, a `.domain` there standing for the domain and every name
 *   under it.
 * The port is not judged: it does not tell a rebound name from another, and a forwarded port
 * (`ssh -L 9000:localhost:8080`) reaches the leader under its own.
 */
export class AnsweredHosts {
  private readonly names = new Set<string>(['localhost']);
  private readonly domains: string[] = [];

  constructor(listenHost: string, allowedHosts: readonly string[], machineName: string = hostname()) {
    if (isIP(listenHost) === 0) this.names.add(normalName(listenHost));
    else if (isWildcard(listenHost)) {
      const machine = normalName(machineName);
      this.names.add(machine);
      this.names.add(machine.split('.')[0]!);
    }
    for (const entry of allowedHosts) {
      const name = normalName(entry.replace(/^\[(.*)\]$/, '$1'));
      if (name.startsWith('.')) this.domains.push(name);
      else this.names.add(name);
    }
  }

  /**
   * Why a request with this Host header is not answered, or undefined when it is. A request
   * without one, or with an empty one (HTTP/1.0; Node refuses HTTP/1.1 without one), is answered:
   * a browser always sends its page's host, so no web page can send such a request, and a probe
   * that does (HAProxy's default HTTP check) is not refused.
   */
  refusal(header: string | undefined): string | undefined {
    if (header === undefined || header === '') return undefined;
    const name = hostOfHeader(header);
    const shown = shownInError(header);
    if (name === undefined)
      return `Host '${shown}' is not of the form HOST or HOST:PORT; this leader answers to its IP addresses, localhost and the names in its http.allowedHosts`;
    if (this.answers(name)) return undefined;
    return `Host '${shown}' is not a name this leader answers to (its IP addresses, localhost and the names in its http.allowedHosts; another name may be a web page's, rebound to this machine); to reach it as ${shownInError(name)}, add ${shownInError(name)} to http.allowedHosts in the leader's config and restart it`;
  }

  private answers(name: string): boolean {
    if (isIP(name) !== 0 || this.names.has(name)) return true;
    return this.domains.some((d) => name.endsWith(d) || name === d.slice(1));
  }
}

/** A host name as compared: lowercase, without the final dot of a fully qualified name. */
function normalName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** 0.0.0.0 or ::, in any of their spellings: every interface of the machine. */
function isWildcard(address: string): boolean {
  return isIP(address) === 4 ? address === '0.0.0.0' : /^[0:]+$/.test(address);
}

/** The host of a Host header (`name:port`, `[v6]:port`), as compared; undefined for another form. */
function hostOfHeader(header: string): string | undefined {
  const m = /^\[([0-9A-Fa-f:.]+)\](?::\d*)?$/.exec(header) ?? /^([^:[\]\s/@]+)(?::\d*)?$/.exec(header);
  return m ? normalName(m[1]!) : undefined;
}

/** How many different refused hosts are logged, so that a page trying again and again is not a flood. */
const MAX_LOGGED_HOSTS = 20;

/**
 * An onRequest hook that refuses a request naming a host the leader does not answer to (421
 * Misdirected Request, before any route or the token is looked at), on every route.
 */
export function refuseUnansweredHosts(app: FastifyInstance, hosts: AnsweredHosts, log: Logger): void {
  const logged = new Set<string>();
  app.addHook('onRequest', async (req, reply) => {
    const why = hosts.refusal(req.headers.host);
    if (why === undefined) return;
    const host = shownInError(req.headers.host ?? '');
    if (logged.size < MAX_LOGGED_HOSTS && !logged.has(host)) {
      logged.add(host);
      log.warn(
        { host, from: req.ip },
        'refused a request for a host this leader does not answer to (a web page under another name, or a name to add to http.allowedHosts)',
      );
    }
    return reply.code(421).send({ error: why });
  });
}
