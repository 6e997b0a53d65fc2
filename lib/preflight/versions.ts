// Whether KUBERNETES_VERSION is in EKS standard support today, from EKS itself
// (DescribeClusterVersions) rather than a calendar pinned in the runbook. A version in extended
// support works but costs more; one past it is refused by EKS (and by eksctl, which asks the same
// API: eksctl pkg/eks/versions_manager.go@v0.230.0:43-70).
import { paginateDescribeClusterVersions, type ClusterVersionInformation } from '@aws-sdk/client-eks'
import { deploymentClusters } from '../config/load.ts'
import type { Task } from '../engine/task.ts'

/**
 * USD per cluster hour: standard support, and standard plus extended support (AWS, "Amazon EKS
 * extended support for Kubernetes versions pricing": $0.60 in total from the April 2024 billing
 * cycle). A month here is 730 hours, as AWS's pricing pages count it.
 */
const EKS_PRICE_PER_HOUR = { standard: 0.1, extended: 0.6 }
const HOURS_PER_MONTH = 730

const day = (d: Date | undefined) => (d ? d.toISOString().slice(0, 10) : '?')
const status = (v: ClusterVersionInformation) => v.versionStatus ?? (v.status as string | undefined)

export function kubernetesVersionTask(): Task {
  return {
    title: 'KUBERNETES_VERSION in EKS standard support',
    async check(ctx) {
      const wanted = ctx.config.kubernetesVersion
      // Every version EKS offers, past extended support too (includeAll), every page, so the
      // answer can both judge the wanted one and name the alternatives.
      const all: ClusterVersionInformation[] = []
      for await (const page of paginateDescribeClusterVersions({ client: ctx.aws.eks }, { includeAll: true }))
        all.push(...(page.clusterVersions ?? []))
      const standard = all
        .filter((v) => status(v) === 'STANDARD_SUPPORT')
        .map((v) => v.clusterVersion!)
        .sort((a, b) => Number(b.split('.')[1]) - Number(a.split('.')[1]))
      const fix = `set KUBERNETES_VERSION to a version in standard support: ${standard.join(', ') || 'none listed'}`
      const v = all.find((x) => x.clusterVersion === wanted)
      if (!v) return { holds: false, detail: `EKS does not offer Kubernetes ${wanted}`, hint: fix }
      const clusters = deploymentClusters(ctx.config).length
      switch (status(v)) {
        case 'STANDARD_SUPPORT':
          return { holds: true, detail: `${wanted}: standard support until ${day(v.endOfStandardSupportDate)}` }
        case 'EXTENDED_SUPPORT': {
          const extra = (EKS_PRICE_PER_HOUR.extended - EKS_PRICE_PER_HOUR.standard) * HOURS_PER_MONTH * clusters
          const message =
            `${wanted} is in EKS extended support (since ${day(v.endOfStandardSupportDate)}, until ${day(v.endOfExtendedSupportDate)}): ` +
            `$${EKS_PRICE_PER_HOUR.extended.toFixed(2)} instead of $${EKS_PRICE_PER_HOUR.standard.toFixed(2)} per cluster hour, ` +
            `about $${extra.toFixed(0)} a month more for ${clusters} cluster${clusters > 1 ? 's' : ''}; ${fix}`
          ctx.log.warn(message)
          return {
            holds: true,
            detail: `${wanted}: extended support only, until ${day(v.endOfExtendedSupportDate)} (costs more: see the warning)`,
          }
        }
        default:
          return {
            holds: false,
            detail: `${wanted} is past EKS extended support (ended ${day(v.endOfExtendedSupportDate)}): EKS makes no new cluster with it`,
            hint: fix,
          }
      }
    },
  }
}
