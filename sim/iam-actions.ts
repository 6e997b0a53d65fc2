// The IAM action a request to AWS needs, as the AWS layer in front of moto sees the request: the
// service from the signature's scope, the operation from the protocol (EC2 and query: Action=;
// JSON: X-Amz-Target; REST: the method and path, mapped as the service's API model binds them).
// The IAM prefixes differ from the signing names for CloudWatch (monitoring -> cloudwatch).
const PREFIX: Record<string, string> = { monitoring: 'cloudwatch' }

/**
 * EKS's REST bindings (@aws-sdk/client-eks 3.1175, dist-cjs/index.js: each command's
 * `.http(method, path)`), for the operations the runbook, eksctl and the AWS CLI use.
 */
const EKS_REST: [string, RegExp, string][] = [
  ['POST', /^\/clusters$/, 'CreateCluster'],
  ['GET', /^\/clusters$/, 'ListClusters'],
  ['GET', /^\/clusters\/[^/]+$/, 'DescribeCluster'],
  ['DELETE', /^\/clusters\/[^/]+$/, 'DeleteCluster'],
  ['POST', /^\/clusters\/[^/]+\/update-config$/, 'UpdateClusterConfig'],
  ['POST', /^\/clusters\/[^/]+\/updates$/, 'UpdateClusterVersion'],
  ['GET', /^\/clusters\/[^/]+\/updates$/, 'ListUpdates'],
  ['GET', /^\/clusters\/[^/]+\/updates\/[^/]+$/, 'DescribeUpdate'],
  ['POST', /^\/clusters\/[^/]+\/node-groups$/, 'CreateNodegroup'],
  ['GET', /^\/clusters\/[^/]+\/node-groups$/, 'ListNodegroups'],
  ['GET', /^\/clusters\/[^/]+\/node-groups\/[^/]+$/, 'DescribeNodegroup'],
  ['DELETE', /^\/clusters\/[^/]+\/node-groups\/[^/]+$/, 'DeleteNodegroup'],
  ['POST', /^\/clusters\/[^/]+\/node-groups\/[^/]+\/update-config$/, 'UpdateNodegroupConfig'],
  ['POST', /^\/clusters\/[^/]+\/node-groups\/[^/]+\/update-version$/, 'UpdateNodegroupVersion'],
  ['POST', /^\/clusters\/[^/]+\/addons$/, 'CreateAddon'],
  ['GET', /^\/clusters\/[^/]+\/addons$/, 'ListAddons'],
  ['GET', /^\/clusters\/[^/]+\/addons\/[^/]+$/, 'DescribeAddon'],
  ['DELETE', /^\/clusters\/[^/]+\/addons\/[^/]+$/, 'DeleteAddon'],
  ['POST', /^\/clusters\/[^/]+\/addons\/[^/]+\/update$/, 'UpdateAddon'],
  ['GET', /^\/addons\/supported-versions$/, 'DescribeAddonVersions'],
  ['GET', /^\/addons\/configuration-schemas$/, 'DescribeAddonConfiguration'],
  ['POST', /^\/clusters\/[^/]+\/access-entries$/, 'CreateAccessEntry'],
  ['GET', /^\/clusters\/[^/]+\/access-entries$/, 'ListAccessEntries'],
  ['GET', /^\/clusters\/[^/]+\/access-entries\/[^/]+$/, 'DescribeAccessEntry'],
  ['POST', /^\/clusters\/[^/]+\/access-entries\/[^/]+$/, 'UpdateAccessEntry'],
  ['DELETE', /^\/clusters\/[^/]+\/access-entries\/[^/]+$/, 'DeleteAccessEntry'],
  ['POST', /^\/clusters\/[^/]+\/access-entries\/[^/]+\/access-policies$/, 'AssociateAccessPolicy'],
  ['GET', /^\/clusters\/[^/]+\/access-entries\/[^/]+\/access-policies$/, 'ListAssociatedAccessPolicies'],
  ['DELETE', /^\/clusters\/[^/]+\/access-entries\/[^/]+\/access-policies\/.+$/, 'DisassociateAccessPolicy'],
  ['GET', /^\/access-policies$/, 'ListAccessPolicies'],
  ['POST', /^\/clusters\/[^/]+\/pod-identity-associations$/, 'CreatePodIdentityAssociation'],
  ['GET', /^\/clusters\/[^/]+\/pod-identity-associations$/, 'ListPodIdentityAssociations'],
  ['GET', /^\/clusters\/[^/]+\/pod-identity-associations\/[^/]+$/, 'DescribePodIdentityAssociation'],
  ['DELETE', /^\/clusters\/[^/]+\/pod-identity-associations\/[^/]+$/, 'DeletePodIdentityAssociation'],
  ['GET', /^\/cluster-versions$/, 'DescribeClusterVersions'],
  ['POST', /^\/tags\/.+$/, 'TagResource'],
  ['GET', /^\/tags\/.+$/, 'ListTagsForResource'],
  ['DELETE', /^\/tags\/.+$/, 'UntagResource'],
]

/** "service:Action" for a request the AWS layer saw; a REST call it cannot map keeps its method and path. */
export function iamAction(service: string, action: string): string {
  const prefix = PREFIX[service] ?? service
  const rest = /^(GET|POST|PUT|DELETE|PATCH|HEAD) (\S+)$/.exec(action)
  if (rest && service === 'eks') {
    // The path as sent: an ARN in it (an access entry's principal) keeps its slashes encoded.
    const path = rest[2]!
    const hit = EKS_REST.find(([m, re]) => m === rest[1] && re.test(path))
    return `eks:${hit ? hit[2] : `UNMAPPED ${action}`}`
  }
  return `${prefix}:${action}`
}

/** S3's REST operations as IAM names them (Service Authorization Reference, Amazon S3), by method, path and subresource. */
export function s3Action(method: string, url: string): { action: string; bucket?: string; key?: string } {
  const u = new URL(url, 'http://s3')
  const [bucket, ...rest] = u.pathname.split('/').filter(Boolean).map(decodeURIComponent)
  const key = rest.join('/') || undefined
  const sub = [
    'tagging',
    'encryption',
    'lifecycle',
    'publicAccessBlock',
    'policy',
    'versioning',
    'location',
    'delete',
    'uploads',
    'acl',
    'ownershipControls',
  ].find((q) => u.searchParams.has(q))
  if (!bucket) return { action: 's3:ListAllMyBuckets' }
  if (key && !sub) {
    const objectActions: Record<string, string> = {
      PUT: 'PutObject',
      GET: 'GetObject',
      HEAD: 'GetObject',
      DELETE: 'DeleteObject',
      POST: 'PutObject',
    }
    return { action: `s3:${objectActions[method] ?? 'GetObject'}`, bucket, key }
  }
  const bucketActions: Record<string, Record<string, string>> = {
    '': { PUT: 'CreateBucket', GET: 'ListBucket', HEAD: 'ListBucket', DELETE: 'DeleteBucket' },
    tagging: { PUT: 'PutBucketTagging', GET: 'GetBucketTagging', DELETE: 'PutBucketTagging' },
    encryption: { PUT: 'PutEncryptionConfiguration', GET: 'GetEncryptionConfiguration', DELETE: 'PutEncryptionConfiguration' },
    lifecycle: { PUT: 'PutLifecycleConfiguration', GET: 'GetLifecycleConfiguration', DELETE: 'PutLifecycleConfiguration' },
    publicAccessBlock: { PUT: 'PutBucketPublicAccessBlock', GET: 'GetBucketPublicAccessBlock', DELETE: 'PutBucketPublicAccessBlock' },
    policy: { PUT: 'PutBucketPolicy', GET: 'GetBucketPolicy', DELETE: 'DeleteBucketPolicy' },
    versioning: { PUT: 'PutBucketVersioning', GET: 'GetBucketVersioning' },
    location: { GET: 'GetBucketLocation' },
    delete: { POST: 'DeleteObject' },
    uploads: { GET: 'ListBucketMultipartUploads' },
    acl: { PUT: 'PutBucketAcl', GET: 'GetBucketAcl' },
    ownershipControls: { PUT: 'PutBucketOwnershipControls', GET: 'GetBucketOwnershipControls' },
  }
  return { action: `s3:${bucketActions[sub ?? '']?.[method] ?? 'ListBucket'}`, bucket }
}
