// What the API server refuses (422 Invalid) for the kinds whose mistakes the runbook can make:
// pod specs (in Pods and in the templates of Deployments, ReplicaSets, DaemonSets and Jobs) and a
// Deployment's rolling-update parameters. Messages in the API server's wording.
import { ApiError, type Obj } from './store.ts'

interface Cause {
  field: string
  message: string
}

const POD_TEMPLATE: Record<string, string> = {
  Deployment: 'spec.template.spec',
  ReplicaSet: 'spec.template.spec',
  DaemonSet: 'spec.template.spec',
  Job: 'spec.template.spec',
  Pod: 'spec',
}

/**
 * kubernetes/kubernetes v1.32.3 pkg/apis/core/validation/validation.go: ValidateVolumes :425-426
 * (a volume name twice: Duplicate value), ValidateVolumeMounts :2914-2915 (a mount naming no
 * volume: Not found) and :2920-2921 (the same mountPath twice in a container: "must be unique").
 */
function podSpecCauses(spec: any, at: string): Cause[] {
  const causes: Cause[] = []
  const names = new Set<string>()
  ;((spec?.volumes ?? []) as { name: string }[]).forEach((v, i) => {
    if (names.has(v.name)) causes.push({ field: `${at}.volumes[${i}].name`, message: `Duplicate value: "${v.name}"` })
    names.add(v.name)
  })
  for (const [group, list] of [
    ['containers', spec?.containers],
    ['initContainers', spec?.initContainers],
  ] as const) {
    ;((list ?? []) as { volumeMounts?: { name: string; mountPath: string }[] }[]).forEach((c, ci) => {
      const paths = new Set<string>()
      ;(c.volumeMounts ?? []).forEach((m, mi) => {
        const f = `${at}.${group}[${ci}].volumeMounts[${mi}]`
        if (!names.has(m.name)) causes.push({ field: `${f}.name`, message: `Not found: "${m.name}"` })
        if (paths.has(m.mountPath)) causes.push({ field: `${f}.mountPath`, message: `Invalid value: "${m.mountPath}": must be unique` })
        paths.add(m.mountPath)
      })
    })
  }
  return causes
}

/** An IntOrString as the API decodes it: a number, or a string that must be a percentage. */
function intOrPercent(v: unknown): { value: number; percent: boolean } | 'invalid' | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v === 'number') return { value: v, percent: false }
  const m = /^(\d+)%$/.exec(String(v))
  return m ? { value: Number(m[1]), percent: true } : 'invalid'
}

/**
 * kubernetes/kubernetes v1.32 pkg/apis/apps/validation/validation.go ValidatePositiveIntOrPercent
 * :469-473 (a string must be a percentage: apimachinery IsValidPercent, "[0-9]+%"),
 * ValidateRollingUpdateDeployment :516-524 (both 0 refused) and IsNotMoreThan100Percent :505-511.
 * A Recreate strategy takes no rollingUpdate.
 */
function strategyCauses(strategy: any): Cause[] {
  if (!strategy) return []
  if (strategy.type === 'Recreate')
    return strategy.rollingUpdate
      ? [{ field: 'spec.strategy.rollingUpdate', message: `Forbidden: may not be specified when strategy \`type\` is 'Recreate'` }]
      : []
  const ru = strategy.rollingUpdate
  if (!ru) return []
  const causes: Cause[] = []
  const surge = intOrPercent(ru.maxSurge)
  const unavailable = intOrPercent(ru.maxUnavailable)
  for (const [name, parsed, raw] of [
    ['maxSurge', surge, ru.maxSurge],
    ['maxUnavailable', unavailable, ru.maxUnavailable],
  ] as const) {
    if (parsed === 'invalid')
      causes.push({
        field: `spec.strategy.rollingUpdate.${name}`,
        message: `Invalid value: "${raw}": a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')`,
      })
    else if (parsed && parsed.value < 0)
      causes.push({
        field: `spec.strategy.rollingUpdate.${name}`,
        message: `Invalid value: ${JSON.stringify(raw)}: must be greater than or equal to 0`,
      })
  }
  if (
    surge !== 'invalid' &&
    unavailable !== 'invalid' &&
    (surge?.value ?? 0) === 0 &&
    (unavailable?.value ?? 0) === 0 &&
    surge &&
    unavailable
  ) {
    causes.push({
      field: 'spec.strategy.rollingUpdate.maxUnavailable',
      message: `Invalid value: ${JSON.stringify(ru.maxUnavailable)}: may not be 0 when \`maxSurge\` is 0`,
    })
  }
  if (unavailable && unavailable !== 'invalid' && unavailable.percent && unavailable.value > 100)
    causes.push({
      field: 'spec.strategy.rollingUpdate.maxUnavailable',
      message: `Invalid value: "${ru.maxUnavailable}": must not be greater than 100%`,
    })
  return causes
}

const GROUP: Record<string, string> = { Deployment: 'apps', ReplicaSet: 'apps', DaemonSet: 'apps', Job: 'batch', Pod: '' }

/** Throws the API server's 422 for an invalid object of a kind it validates here. */
export function validate(kind: string, o: Obj): void {
  const at = POD_TEMPLATE[kind]
  if (!at) return
  const spec = kind === 'Pod' ? o.spec : o.spec?.template?.spec
  const causes = [...podSpecCauses(spec, at), ...(kind === 'Deployment' ? strategyCauses(o.spec?.strategy) : [])]
  if (!causes.length) return
  const group = GROUP[kind]
  const what = `${kind}${group ? `.${group}` : ''} "${o.metadata?.name}"`
  const list = causes.map((c) => `${c.field}: ${c.message}`)
  throw new ApiError(422, 'Invalid', `${what} is invalid: ${list.length === 1 ? list[0] : `[${list.join(', ')}]`}`, {
    name: o.metadata?.name,
    group,
    kind,
    causes: causes.map((c) => ({ reason: 'FieldValueInvalid', message: c.message, field: c.field })),
  })
}
