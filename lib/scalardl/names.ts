// Object names the Scalar charts derive from release names (the charts' fullname rule: the
// release name when it contains the chart name, else `<release>-<chart>`), for the Ledger's
// (scalardl) and the Auditor's (scalardl-audit) views of the configuration.
import type { Config } from '../config/load.ts'

const fullname = (release: string, chart: string) => (release.includes(chart) ? release : `${release}-${chart}`)

/** The server chart of the view: scalardl (Ledger) or scalardl-audit (Auditor). */
export const serverChart = (c: Config) => (c.scalardl.app === 'auditor' ? 'scalardl-audit' : 'scalardl')

/** The server's app label and Deployment suffix: ledger or auditor. */
export const serverApp = (c: Config) => c.scalardl.app

/** Prefix of the server chart's objects: `<F>-ledger` or `<F>-auditor`, `<F>-envoy`, `<F>-headless`, ... */
export const scalardlFullname = (c: Config) => fullname(c.scalardl.release, serverChart(c))

/** The schema-loading chart's Job. */
export const schemaJobName = (c: Config) => fullname(c.scalardl.schemaRelease, 'schema-loading')

/** The Secret holding the server's key (and, for the Auditor, its certificate). */
export const keysSecretName = (c: Config) => `${c.scalardl.app}-keys`
