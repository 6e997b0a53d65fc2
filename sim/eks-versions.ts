// EKS's DescribeClusterVersions, which moto does not have (getmoto/moto 5.2.3
// IMPLEMENTATION_COVERAGE.md:4682 `[ ] describe_cluster_versions`), served by the AWS layer in
// front of moto. Shape: botocore data/eks/2017-11-01/service-2.json@0e6e240 (GET /cluster-versions
// :483-497; request :3594-3649; ClusterVersionInformation :2358-2403; timestamps as epoch seconds,
// rest-json's default). Statuses follow AWS's calendar and its rule (standard support for 14 months
// after the EKS release, then extended support for 12: awsdocs/amazon-eks-user-guide@0138560
// latest/ug/versioning/kubernetes-versions.adoc), evaluated at the simulator's clock.
import type { AwsHooks } from './faults.ts'

type VersionStatus = 'UNSUPPORTED' | 'STANDARD_SUPPORT' | 'EXTENDED_SUPPORT'

/**
 * End of standard and of extended support, UTC days. 1.29-1.34: kubernetes-versions.adoc@0138560
 * (the release calendar table); 1.35 and 1.36: AWS's table as endoflife-date/release-data@f626bde
 * releases/amazon-eks.json scraped it on 2026-08-22. The EKS release is 14 months before the end
 * of standard support (the documented rule).
 */
const CALENDAR: [version: string, endOfStandard: string, endOfExtended: string][] = [
  ['1.29', '2025-03-23', '2026-03-23'],
  ['1.30', '2025-07-23', '2026-07-23'],
  ['1.31', '2025-11-26', '2026-11-26'],
  ['1.32', '2026-03-23', '2027-03-23'],
  ['1.33', '2026-07-29', '2027-07-29'],
  ['1.34', '2026-12-02', '2027-12-02'],
  ['1.35', '2027-03-27', '2028-03-27'],
  ['1.36', '2027-08-02', '2028-08-02'],
]

const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`)
const monthsBefore = (iso: string, months: number) => {
  const d = new Date(day(iso))
  d.setUTCMonth(d.getUTCMonth() - months)
  return d.getTime()
}

interface ClusterVersion {
  clusterVersion: string
  clusterType: 'eks'
  releaseDate: number
  endOfStandardSupportDate: number
  endOfExtendedSupportDate: number
  versionStatus: VersionStatus
  /** Deprecated member: real answers carry the same upper-case value (kubernetes-versions.adoc's example; eksctl pkg/eks/versions_manager.go@v0.230.0:52 compares it with "UNSUPPORTED"). */
  status: VersionStatus
  defaultVersion: boolean
}

/**
 * Every version of the calendar as EKS reports it at `now`; `overrides` (knob eksVersionStatus)
 * forces a version's status, for example a version that is only in extended support. No version
 * is marked default: AWS does not document how it chooses one (eksctl v0.230.0 ignores it too,
 * versions_manager.go:102-105 returns its own api.DefaultVersion).
 */
export function clusterVersions(now: number, overrides: Record<string, string> = {}): ClusterVersion[] {
  return CALENDAR.map(([v, std, ext]) => {
    const computed: VersionStatus = now < day(std) ? 'STANDARD_SUPPORT' : now < day(ext) ? 'EXTENDED_SUPPORT' : 'UNSUPPORTED'
    const status = (overrides[v] as VersionStatus | undefined) ?? computed
    return {
      clusterVersion: v,
      clusterType: 'eks' as const,
      releaseDate: monthsBefore(std, 14) / 1000,
      endOfStandardSupportDate: day(std) / 1000,
      endOfExtendedSupportDate: day(ext) / 1000,
      versionStatus: status,
      status,
      defaultVersion: false,
    }
  })
    .filter((v) => v.releaseDate * 1000 <= now)
    .reverse()
}

/** The AWS layer's hook: GET /cluster-versions with its query filters. */
export function eksVersionHooks(overrides: () => Record<string, string>, now: () => number = Date.now): AwsHooks {
  return {
    serve: async (service, method, rawPath) => {
      if (service !== 'eks' || method !== 'GET') return undefined
      const url = new URL(rawPath, 'http://eks')
      if (url.pathname !== '/cluster-versions') return undefined
      const q = url.searchParams
      let list = clusterVersions(now(), overrides())
      // Without includeAll, versions past extended support are left out: awslabs/amazon-eks-ami
      // PR #2143 (2025-02-07) shows a bare describe-cluster-versions listing 1.32 down to 1.25,
      // with 1.24 (unsupported since 2025-01-31) absent. The model documents no default.
      if (q.get('includeAll') !== 'true') list = list.filter((v) => v.versionStatus !== 'UNSUPPORTED')
      const wanted = q.getAll('clusterVersions')
      if (wanted.length) list = list.filter((v) => wanted.includes(v.clusterVersion))
      const status = q.get('versionStatus') ?? q.get('status')?.toUpperCase().replace('-', '_')
      if (status) list = list.filter((v) => v.versionStatus === status)
      if (q.get('defaultOnly') === 'true') list = list.filter((v) => v.defaultVersion)
      // Pages: maxResults 1..100, nextToken (botocore eks/2017-11-01/service-2.json
      // DescribeClusterVersions; paginators-1.json: input/output token nextToken, limit maxResults).
      const max = q.has('maxResults') ? Number(q.get('maxResults')) : 100
      if (!Number.isInteger(max) || max < 1 || max > 100)
        return { status: 400, errorType: 'InvalidParameterException', body: { message: 'maxResults must be between 1 and 100' } }
      const start = q.has('nextToken') ? Number(Buffer.from(q.get('nextToken')!, 'base64url').toString()) : 0
      if (!Number.isInteger(start) || start < 0 || start > list.length)
        return { status: 400, errorType: 'InvalidParameterException', body: { message: 'The nextToken is invalid' } }
      const page = list.slice(start, start + max)
      const next = start + max < list.length ? Buffer.from(String(start + max)).toString('base64url') : undefined
      return { status: 200, body: { clusterVersions: page, ...(next ? { nextToken: next } : {}) } }
    },
  }
}
