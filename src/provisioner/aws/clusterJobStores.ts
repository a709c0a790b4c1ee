import type { S3Client } from '@aws-sdk/client-s3';
import { s3Sdk } from '../../common/awsSdkPackages.js';
import { forEachLimited } from '../../common/forEachLimited.js';
import { TAG_CLUSTER } from './tags.js';

/** A job store whose bucket still exists, as `toil clean` takes it. */
export interface ClusterJobStore {
  readonly locator: string;
  readonly bucket: string;
}

const JOB_STORE_SUFFIX = '--toil';

/**
 * The `aws:` job stores made on cluster `clusterName` whose buckets still exist, in any region: a
 * job store's bucket carries the tags of TOIL_AWS_TAGS where it was made, as in Toil, and a
 * cluster's nodes have the cluster's `clusterName` there. A bucket without tags is skipped; any
 * other refusal rejects, so the caller can say the look was cut short.
 */
export async function clusterJobStores(s3: S3Client, clusterName: string): Promise<ClusterJobStore[]> {
  const { ListBucketsCommand, GetBucketTaggingCommand, GetBucketLocationCommand } = s3Sdk();
  const buckets: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListBucketsCommand(token ? { ContinuationToken: token } : {}));
    buckets.push(...(page.Buckets ?? []).flatMap((b) => (b.Name ? [b.Name] : [])));
    token = page.ContinuationToken;
  } while (token);
  const found: ClusterJobStore[] = [];
  await forEachLimited(
    buckets.filter((b) => b.endsWith(JOB_STORE_SUFFIX)),
    8,
    async (bucket) => {
      const tags = await s3.send(new GetBucketTaggingCommand({ Bucket: bucket })).then(
        (r) => r.TagSet ?? [],
        (e: unknown) => {
          // No tags (made elsewhere, or by a version that tagged nothing), or gone meanwhile.
          if (['NoSuchTagSet', 'NoSuchBucket'].includes((e as { name?: string }).name ?? '')) return [];
          throw e;
        },
      );
      if (!tags.some((t) => t.Key === TAG_CLUSTER && t.Value === clusterName)) return;
      const where = await s3.send(new GetBucketLocationCommand({ Bucket: bucket }));
      // S3 names us-east-1 with no location constraint.
      const region = where.LocationConstraint || 'us-east-1';
      found.push({ locator: `aws:${region}:${bucket.slice(0, -JOB_STORE_SUFFIX.length)}`, bucket });
    },
  );
  return found.sort((a, b) => a.locator.localeCompare(b.locator));
}
