/**
 * DescribeSpotPriceHistory over the local spot market, with EC2's window rules: the answer holds
 * the price changes between StartTime (default: the start of the history) and EndTime (default:
 * now), plus the change in effect at StartTime (EC2 returns "the effective price as of the start
 * time"), newest first; `InstanceType.N`, `ProductDescription.N`, `AvailabilityZone` and the
 * filters `availability-zone`, `instance-type`, `product-description`, `spot-price`, `timestamp`
 * narrow it; `MaxResults` (1–1000) and `NextToken` page it.
 */
import { INSTANCE_TYPES, INSTANCE_TYPES_BY_NAME } from './catalogue.js';
import { Ec2ApiError, type Ec2Cloud } from './ec2Cloud.js';
import { anyMatch, type QueryParams } from './query.js';
import { el, items, node } from './xml.js';

/** The one product the local region sells on spot. */
const PRODUCT = 'Linux/UNIX';
/** The form of an EC2 instance type's name (family, generation, options; then a size). */
const EC2_TYPE_NAME =
  /^[a-z][a-z0-9-]*\d[a-z0-9-]*\.(nano|micro|small|medium|large|\d*xlarge|metal(-\d+xl)?)$/;
const FILTERS = new Set([
  'availability-zone',
  'instance-type',
  'product-description',
  'spot-price',
  'timestamp',
]);

function time(p: QueryParams, name: string): number | undefined {
  const v = p.get(name);
  if (v === undefined) return undefined;
  const t = /^\d+(\.\d+)?$/.test(v) ? Number(v) * 1000 : Date.parse(v);
  if (!Number.isFinite(t))
    throw new Ec2ApiError('InvalidParameterValue', `Value (${v}) for parameter ${name} is invalid.`);
  return t;
}

export function describeSpotPriceHistory(cloud: Ec2Cloud, p: QueryParams): string {
  const zone = p.get('AvailabilityZone');
  if (zone !== undefined && !cloud.zones.includes(zone))
    throw new Ec2ApiError('InvalidParameterValue', `Invalid availability zone: [${zone}]`);
  const types = p.list('InstanceType');
  // EC2 answers a type it sells elsewhere but not here with no rows (the type is a valid value);
  // only a name that is no instance type at all is rejected, failing the whole request.
  for (const t of types)
    if (!INSTANCE_TYPES_BY_NAME.has(t) && !EC2_TYPE_NAME.test(t))
      throw new Ec2ApiError('InvalidParameterValue', `Invalid value '${t}' for InstanceType.`);
  const filters = p.filters();
  for (const f of filters)
    if (!FILTERS.has(f.name))
      throw new Ec2ApiError('InvalidParameterValue', `The filter '${f.name}' is invalid`);
  const products = p.list('ProductDescription');
  const now = cloud.now();
  const from = time(p, 'StartTime') ?? cloud.spotMarket.historyStart;
  const to = Math.min(time(p, 'EndTime') ?? now, now);
  if (to < Math.min(from, now))
    throw new Ec2ApiError('InvalidParameterValue', 'The end time must be later than the start time.');
  const sold = products.length === 0 || products.includes(PRODUCT);
  const rows = [];
  if (sold)
    for (const type of types.length > 0
      ? types.flatMap((t) => INSTANCE_TYPES_BY_NAME.get(t) ?? [])
      : INSTANCE_TYPES)
      for (const z of zone ? [zone] : cloud.zones)
        rows.push(...cloud.spotMarket.history(type, z, Math.min(from, now), to));
  const matched = rows
    .filter((r) =>
      filters.every((f) => {
        switch (f.name) {
          case 'availability-zone':
            return anyMatch(f.values, r.zone);
          case 'instance-type':
            return anyMatch(f.values, r.instanceType);
          case 'product-description':
            return anyMatch(f.values, PRODUCT);
          case 'spot-price':
            return f.values.some((v) => Number(v) === r.price) || anyMatch(f.values, r.price.toFixed(6));
          default:
            return anyMatch(f.values, new Date(r.at).toISOString());
        }
      }),
    )
    .sort(
      (a, b) => b.at - a.at || a.instanceType.localeCompare(b.instanceType) || a.zone.localeCompare(b.zone),
    );
  const maxResults = p.int('MaxResults');
  if (maxResults !== undefined && (Number.isNaN(maxResults) || maxResults < 1 || maxResults > 1000))
    throw new Ec2ApiError(
      'InvalidParameterValue',
      `Value ( ${p.get('MaxResults')} ) for parameter maxResults is invalid. Expecting a value between 1 and 1000.`,
    );
  const token = p.get('NextToken');
  const start = token
    ? Number(
        Buffer.from(token, 'base64url')
          .toString('utf8')
          .replace(/^spot:/, ''),
      )
    : 0;
  if (!Number.isInteger(start) || start < 0)
    throw new Ec2ApiError('InvalidParameterValue', `The token '${token}' is invalid`);
  const page = matched.slice(start, start + (maxResults ?? 1000));
  const next = start + page.length;
  return (
    items(
      'spotPriceHistorySet',
      page,
      (r) =>
        el('instanceType', r.instanceType) +
        el('productDescription', PRODUCT) +
        el('spotPrice', r.price.toFixed(6)) +
        el('timestamp', new Date(r.at)) +
        el('availabilityZone', r.zone),
    ) +
    (next < matched.length
      ? el('nextToken', Buffer.from(`spot:${next}`).toString('base64url'))
      : node('nextToken', ''))
  );
}
