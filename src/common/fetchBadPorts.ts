/**
 * The ports the Fetch standard calls "bad" (https://fetch.spec.whatwg.org/#bad-port): ports of
 * other protocols (SMTP, IRC, X11, ...) that a web client must refuse to connect to. Node's fetch
 * (the client of `toil run --leader`) and every browser (the status page) refuse them before any
 * connection ("bad port"), so a leader listening on one could be reached by neither.
 * test/common/fetchBadPorts.test.ts checks this list against the running Node's fetch.
 */
const FETCH_BAD_PORTS: ReadonlySet<number> = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104,
  109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515,
  526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049,
  3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

/** Every bad port, in order (for the test that checks them against fetch). */
export const fetchBadPorts = (): readonly number[] => [...FETCH_BAD_PORTS].sort((a, b) => a - b);

/** A port fetch and browsers refuse to connect to. */
export function isFetchBadPort(port: number): boolean {
  return FETCH_BAD_PORTS.has(port);
}

/** Why such a port cannot serve web clients, in words for an error line. */
export function badPortReason(port: number): string {
  return `port ${port} is one web clients refuse to connect to (a "bad port" of the Fetch standard: toil run --leader's client and browsers alike)`;
}
