// Version parsing and comparison for tool checks (kubectl, helm, eksctl, Kubernetes).

export interface Version {
  major: number
  minor: number
  patch: number
}

/** Finds the first x.y[.z] in text: "v1.32.4-eks-abc", "v3.21.4+g1234567", "0.230.0". */
export function parseVersion(text: string): Version | undefined {
  const m = /v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(text)
  if (!m) return undefined
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0) }
}

function compareVersions(a: Version, b: Version): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch
}

export function atLeast(v: Version, min: string): boolean {
  const m = parseVersion(min)
  if (!m) throw new Error(`bad minimum version ${min}`)
  return compareVersions(v, m) >= 0
}

export function formatVersion(v: Version): string {
  return `${v.major}.${v.minor}.${v.patch}`
}
