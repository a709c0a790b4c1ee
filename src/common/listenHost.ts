import { isIP } from 'node:net';

/**
 * A host a server can listen on, as written in a config: an IPv4 or IPv6 literal, or a hostname
 * per RFC 1123 (labels of 1 to 63 letters, digits and dashes, no dash at either end, 253
 * characters at most). Checked by its form only: a name is looked up when the server listens.
 */
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOSTNAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*$`);

/** What a host must be, as the config's messages say it. */
const LISTEN_HOST_EXPECTED =
  'expected an IP address (e.g. 127.0.0.1, 0.0.0.0, ::1) or a hostname of letters, digits and dashes between dots (e.g. leader.example.org)';

/** Why `host` cannot be listened on, or undefined when its form is good. */
export function listenHostProblem(host: string): string | undefined {
  if (isIP(host) !== 0) return undefined;
  const bracketed = /^\[(.*)\]$/.exec(host)?.[1];
  if (bracketed !== undefined && isIP(bracketed) === 6)
    return `'${host}': an IPv6 address is written without brackets here (${bracketed})`;
  // All digits in its last label, the name would be taken for an IPv4 address, and is not one.
  if (HOSTNAME.test(host) && !/(?:^|\.)\d+$/.test(host)) return undefined;
  return `${LISTEN_HOST_EXPECTED}, got '${host}'`;
}

/** What an entry of a list of names a server answers to must be, as the config's messages say it. */
const ANSWERED_NAME_EXPECTED =
  'expected a host name (e.g. leader.example.org), or a domain after a dot for it and every name under it (e.g. .example.org), without a scheme or port';

/**
 * Why `entry` cannot be a name a server answers to (a DNS name it is reached by), or undefined when
 * its form is good: a hostname, or `.domain` for the domain and every name below it. An IP address
 * is taken too (a server answers to every one anyway).
 */
export function answeredNameProblem(entry: string): string | undefined {
  if (isIP(entry.replace(/^\[(.*)\]$/, '$1')) !== 0) return undefined;
  const name = entry.replace(/^\./, '').replace(/\.$/, '');
  return HOSTNAME.test(name) && !/(?:^|\.)\d+$/.test(name)
    ? undefined
    : `${ANSWERED_NAME_EXPECTED}, got '${entry}'`;
}
