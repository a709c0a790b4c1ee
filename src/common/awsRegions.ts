/** EC2's commercial regions (the standard partition's), as of this code: the local cloud's. */
export const AWS_REGIONS: readonly string[] = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'ca-central-1',
  'ca-west-1',
  'mx-central-1',
  'sa-east-1',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-central-1',
  'eu-central-2',
  'eu-north-1',
  'eu-south-1',
  'eu-south-2',
  'af-south-1',
  'me-south-1',
  'me-central-1',
  'il-central-1',
  'ap-south-1',
  'ap-south-2',
  'ap-east-1',
  'ap-east-2',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ap-southeast-5',
  'ap-southeast-7',
];

/**
 * The shape of every AWS region's name: lowercase words and a number, joined by hyphens
 * (`us-west-2`, `ap-southeast-6`, `us-gov-west-1`, `cn-north-1`, `us-isob-east-1`,
 * `eusc-de-east-1`). AWS opens regions after any list in code was written, so a name of this
 * shape is one AWS could use, and only the endpoint can tell whether it does.
 */
const REGION_NAME_RE = /^[a-z]{2,}(?:-[a-z]+)+-\d+$/;

/**
 * What is wrong with `region` as the name of an AWS region, said so a user can fix it at once, or
 * undefined for a well-formed one.
 */
export function regionNameProblem(region: string): string | undefined {
  if (REGION_NAME_RE.test(region)) return undefined;
  if (region === '') return 'is empty (expected one like us-west-2)';
  const zoneOf = /^(.+-\d+)[a-z]$/.exec(region)?.[1];
  if (zoneOf !== undefined && REGION_NAME_RE.test(zoneOf))
    return `'${region}' is an availability zone, not a region (expected its region, ${zoneOf})`;
  if (REGION_NAME_RE.test(region.toLowerCase()))
    return `'${region}' is not an AWS region name (expected it in lowercase, ${region.toLowerCase()})`;
  return `'${region}' is not an AWS region name (expected one like us-west-2: lowercase words and a number, joined by hyphens)`;
}
