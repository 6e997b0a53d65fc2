// Object names the Scalar charts derive from release names (the charts' fullname rule: the
// release name when it contains the chart name, else `<release>-<chart>`).
import type { Config } from '../config.ts'

const fullname = (release: string, chart: string) => (release.includes(chart) ? release : `${release}-${chart}`)

/** Prefix of the scalardl chart's objects: `<F>-ledger`, `<F>-envoy`, `<F>-headless`, ... */
export const scalardlFullname = (c: Config) => fullname(c.scalardl.release, 'scalardl')

/** The schema-loading chart's Job. */
export const schemaJobName = (c: Config) => fullname(c.scalardl.schemaRelease, 'schema-loading')
