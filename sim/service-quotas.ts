// Service Quotas for the quotas a deployment uses, served by the AWS layer in front of moto. moto
// knows only the `vpc` service's defaults and has no GetAWSDefaultServiceQuota
// (getmoto/moto@5.2.3 moto/servicequotas/models.py:17-33, resources/default_quotas/vpc.py; an
// unknown code raises NoSuchResourceException, exceptions.py:6-11). Codes and defaults: the VPC
// quotas page (awsdocs/amazon-vpc-user-guide@a16ab76 doc_source/amazon-vpc-limits.md:12,26,36), the
// EKS quotas page (Clusters, 100 per Region), aws/aws-cli@07c4fe3
// awscli/examples/service-quotas/get-aws-default-service-quota.rst:5-31 (L-1216C47A, 5 vCPUs by
// default, and its usage metric).
import type { AwsHooks } from './faults.ts'

interface QuotaInfo {
  service: string
  serviceName: string
  code: string
  name: string
  defaultValue: number
  unit: string
}

const QUOTAS: QuotaInfo[] = [
  {
    service: 'ec2',
    serviceName: 'Amazon Elastic Compute Cloud (Amazon EC2)',
    code: 'L-0263D0A3',
    name: 'EC2-VPC Elastic IPs',
    defaultValue: 5,
    unit: 'None',
  },
  {
    service: 'ec2',
    serviceName: 'Amazon Elastic Compute Cloud (Amazon EC2)',
    code: 'L-1216C47A',
    name: 'Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances',
    defaultValue: 5,
    unit: 'None',
  },
  {
    service: 'vpc',
    serviceName: 'Amazon Virtual Private Cloud (Amazon VPC)',
    code: 'L-F678F1CE',
    name: 'VPCs per Region',
    defaultValue: 5,
    unit: 'None',
  },
  {
    service: 'vpc',
    serviceName: 'Amazon Virtual Private Cloud (Amazon VPC)',
    code: 'L-FE5A380F',
    name: 'NAT gateways per Availability Zone',
    defaultValue: 5,
    unit: 'None',
  },
  {
    service: 'eks',
    serviceName: 'Amazon Elastic Kubernetes Service (Amazon EKS)',
    code: 'L-1194D53C',
    name: 'Clusters',
    defaultValue: 100,
    unit: 'None',
  },
]

/**
 * The values applied to the simulated account (knob `quotas`, `SERVICE/CODE` -> value; a lowered
 * quota is set here). By default only the vCPU quota has one: aws-cli's get-service-quota.rst
 * example answers 1920 for L-1216C47A, where the default of 5 would stop any cluster.
 */
const APPLIED: Record<string, number> = { 'ec2/L-1216C47A': 1920 }

function quota(q: QuotaInfo, value: number, region: string) {
  return {
    ServiceCode: q.service,
    ServiceName: q.serviceName,
    QuotaArn: `arn:aws:servicequotas:${region}:123456789012:${q.service}/${q.code}`,
    QuotaCode: q.code,
    QuotaName: q.name,
    Value: value,
    Unit: q.unit,
    Adjustable: true,
    GlobalQuota: false,
  }
}

const noSuchResource = {
  status: 400,
  errorType: 'NoSuchResourceException',
  body: {
    __type: 'NoSuchResourceException',
    message: 'This service is not available in the current Region. Choose a different Region or a different service.',
  },
}

/**
 * GetServiceQuota answers the applied value, and NoSuchResourceException where the account has
 * none (the API reference: "If the applied quota value is not available for a quota, the quota is
 * not retrieved"; hashicorp/terraform-provider-aws PR #22003 and aws/aws-cli #6629 saw the not
 * found error and read GetAWSDefaultServiceQuota instead). GetAWSDefaultServiceQuota answers the
 * default, which does not reflect increases. Other codes go on to moto.
 */
export function serviceQuotaHooks(applied: () => Record<string, number>): AwsHooks {
  return {
    serve: async (service, _method, action, body, _authorization, region) => {
      if (service !== 'servicequotas' || (action !== 'GetServiceQuota' && action !== 'GetAWSDefaultServiceQuota')) return undefined
      const b = JSON.parse(body || '{}') as { ServiceCode?: string; QuotaCode?: string }
      const q = QUOTAS.find((x) => x.service === b.ServiceCode && x.code === b.QuotaCode)
      if (!q) return undefined
      if (action === 'GetAWSDefaultServiceQuota') return { status: 200, body: { Quota: quota(q, q.defaultValue, region) } }
      const value = { ...APPLIED, ...applied() }[`${q.service}/${q.code}`]
      return value === undefined ? noSuchResource : { status: 200, body: { Quota: quota(q, value, region) } }
    },
  }
}
