// The runbook's values rendered by the simulated charts (which follow scalar-labs/helm-charts at
// scalardl-4.12.0, scalardl-audit-2.12.0, schema-loading-2.14.0, envoy-2.6.0): the facts of the
// real charts the runbook depends on, and that every variable a properties file names is in the
// environment of the container that reads it.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { describe, test } from 'node:test'
import YAML from 'yaml'
import { auditorView } from '../../lib/auditor/view.ts'
import { parseConfig, type Config } from '../../lib/config/load.ts'
import { dbSecret } from '../../lib/scalardl/secrets.ts'
import { schemaOverrides, serverOverrides, valuePaths, valuesFile, valuesProblems } from '../../lib/scalardl/values.ts'
import { validate } from '../../sim/kube/validation.ts'
import { sampleLicence } from '../../sim/licence.ts'
import { mergeValues, schemaErrors, type Chart } from '../../sim/standins/charts/common.ts'
import { envoyValues } from '../../sim/standins/charts/envoy.ts'
import { scalardl, scalardlAudit } from '../../sim/standins/charts/scalardl.ts'
import { schemaLoading } from '../../sim/standins/charts/schema-loading.ts'
import { tempDir } from '../helpers/run-step.ts'

const dir = tempDir('fidelity-')
const config = parseConfig({
  AWS_REGION: 'ap-northeast-1',
  CLUSTER_NAME: 'prod',
  AUDITOR_ENABLED: 'true',
  LEDGER_PRIVATE_KEY_FILE: '/k/ledger.pem',
  AUDITOR_PRIVATE_KEY_FILE: '/k/auditor.pem',
  AUDITOR_CERTIFICATE_FILE: '/k/auditor-cert.pem',
  SCALARDL_DB_USERNAME: 'AKIAFIDELITY00000000',
  SCALARDL_DB_PASSWORD: 'fidelity-secret',
  ...sampleLicence(dir),
})
const auditor = auditorView(config)

/** helm: chart defaults, the operator's file, the runbook's overrides; schema errors fail the test. */
function render(chart: Chart, c: Config, overrides: any, operatorFile?: string): any[] {
  const user = mergeValues(operatorFile ? (YAML.parse(fs.readFileSync(operatorFile, 'utf8')) ?? {}) : {}, overrides)
  const values = mergeValues(chart.defaults(), user)
  assert.deepEqual(
    [...schemaErrors(chart.name, values), ...(values.envoy?.enabled ? schemaErrors('envoy', envoyValues(values)) : [])],
    [],
    `${chart.name}: the runbook's values meet the chart's schema`,
  )
  assert.equal(chart.validate?.(values), undefined)
  const objects = chart.render(c.scalardl.release, c.scalardl.namespace, values, chart.versions[0]!)
  for (const o of objects) validate(o.kind, o) // the API server would accept them
  return objects
}
const find = (objects: any[], kind: string, suffix: string) => objects.find((o) => o.kind === kind && o.metadata.name.endsWith(suffix))

/** Every `${env:X}` and `{{ ... .Env.X ... }}` in a properties text. */
const referenced = (text: string) => [...text.matchAll(/\$\{env:([A-Za-z_]\w*)|\.Env\.([A-Za-z_]\w*)/g)].map((m) => (m[1] ?? m[2])!)

/** The variables a container gets: its env, and the keys of the Secrets its envFrom names (the runbook's). */
function envNames(container: any, secrets: Record<string, Record<string, string>>): Set<string> {
  const names = new Set<string>((container.env ?? []).map((e: { name: string }) => e.name))
  for (const f of container.envFrom ?? []) for (const k of Object.keys(secrets[f.secretRef?.name] ?? {})) names.add(k)
  return names
}

describe("the runbook's values on the real charts", () => {
  const ledgerSecret = dbSecret(config)
  const auditorSecret = dbSecret(auditor)

  test("Ledger: credentials by envFrom and existingSecret, the chart's own /keys mount, a strategy a full pool can roll, every variable defined", () => {
    const objects = render(scalardl, config, serverOverrides(config, { poolNodes: 3 }), valuesFile(config, 'server'))
    const d = find(objects, 'Deployment', '-ledger')
    const c = d.spec.template.spec.containers[0]
    assert.equal(c.name, 'scalardl-ledger')
    assert.deepEqual(c.env.find((e: any) => e.name === 'HELM_SCALAR_DB_USERNAME').valueFrom.secretKeyRef, {
      name: ledgerSecret.name,
      key: 'db-username',
    })
    assert.deepEqual(c.envFrom, [{ secretRef: { name: ledgerSecret.name } }])
    assert.ok(ledgerSecret.data['db-username'] && ledgerSecret.data['db-password'], 'the keys existingSecret needs')
    assert.deepEqual(
      d.spec.template.spec.volumes.filter((v: any) => v.secret).map((v: any) => v.secret.secretName),
      ['ledger-keys'],
    )
    assert.deepEqual(
      c.volumeMounts.filter((m: any) => m.mountPath === '/keys').map((m: any) => m.name),
      ['ledger-keys'],
    )
    assert.deepEqual(d.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: '0%', maxUnavailable: '34%' } })
    const cm = find(objects, 'ConfigMap', '-ledger-properties')
    const props = cm.data['ledger.properties.tmpl']
    assert.match(props, /^scalar\.dl\.ledger\.auditor\.enabled=true$/m)
    assert.match(props, /^scalar\.dl\.ledger\.proof\.enabled=true$/m)
    const names = envNames(c, { [ledgerSecret.name]: ledgerSecret.data })
    assert.deepEqual(
      referenced(props).filter((v) => !names.has(v)),
      [],
      "every variable the properties name is in the container's environment",
    )
    assert.ok(referenced(props).includes('SCALAR_DB_USERNAME'))
    assert.match(d.spec.template.metadata.annotations['checksum/config'], /^[0-9a-f]{64}$/)
    const envoy = find(objects, 'Deployment', '-envoy')
    assert.deepEqual(envoy.spec.strategy, d.spec.strategy)
    assert.equal(envoy.metadata.labels['app.kubernetes.io/name'], 'scalardl')
    assert.equal(envoy.metadata.labels['helm.sh/chart'], 'envoy-2.6.0')
    assert.equal(find(objects, 'Service', '-headless').metadata.labels['app.kubernetes.io/app'], 'ledger')
  })

  test("Auditor: its keys mounted by the chart (or beside the operator's extra volumes), the licence and credentials defined", () => {
    const objects = render(
      scalardlAudit,
      auditor,
      serverOverrides(auditor, { poolNodes: 3, ledgerHost: 'ledger.example' }),
      valuesFile(auditor, 'server'),
    )
    const d = find(objects, 'Deployment', '-auditor')
    const c = d.spec.template.spec.containers[0]
    assert.equal(c.name, 'scalardl-audit-auditor')
    assert.deepEqual(
      c.volumeMounts.filter((m: any) => m.mountPath === '/keys').map((m: any) => m.name),
      ['auditor-keys'],
    )
    const props = find(objects, 'ConfigMap', '-auditor-properties').data['auditor.properties.tmpl']
    const names = envNames(c, { [auditorSecret.name]: auditorSecret.data })
    assert.deepEqual(
      referenced(props).filter((v) => !names.has(v)),
      [],
    )
    assert.ok(referenced(props).includes('SCALAR_DL_AUDITOR_LICENSE_KEY'))
    // An operator's extra volume turns the chart's own keys volume off: the runbook adds it back.
    const operator = {
      auditor: { extraVolumes: [{ name: 'extra', emptyDir: {} }], extraVolumeMounts: [{ name: 'extra', mountPath: '/extra' }] },
    }
    const file = path.join(dir, 'audit-values.yaml')
    fs.writeFileSync(file, YAML.stringify(operator))
    const d2 = find(
      render(scalardlAudit, auditor, serverOverrides(auditor, { poolNodes: 3, ledgerHost: 'ledger.example' }, operator), file),
      'Deployment',
      '-auditor',
    )
    assert.deepEqual(d2.spec.template.spec.volumes.map((v: any) => v.name).sort(), [
      'auditor-keys',
      'extra',
      'scalardl-auditor-properties-volume',
    ])
    assert.deepEqual(d2.spec.template.spec.containers[0].volumeMounts.map((m: any) => m.mountPath).sort(), [
      '/extra',
      '/keys',
      '/scalar/auditor/auditor.properties.tmpl',
    ])
  })

  test('schema loading: the Job reads the Secret through envFrom, the template where the image renders it', () => {
    for (const c of [config, auditor]) {
      const objects = render(schemaLoading, c, schemaOverrides(c))
      const job = objects.find((o) => o.kind === 'Job')
      const ctr = job.spec.template.spec.containers[0]
      assert.deepEqual(ctr.args, ['--config', '/tmp/database.properties', ...(c === config ? ['--coordinator'] : [])])
      assert.deepEqual(ctr.volumeMounts, [
        {
          name: 'scalardb-database-properties-volume',
          mountPath: '/scalardl-schema-loader/database.properties.tmpl',
          subPath: 'database.properties.tmpl',
        },
      ])
      const props = objects.find((o) => o.kind === 'ConfigMap').data['database.properties.tmpl']
      assert.match(props, /^scalar\.db\.username=\{\{ default \.Env\.SCALAR_DB_USERNAME "" \}\}$/m)
      const secret = dbSecret(c)
      const names = envNames(ctr, { [secret.name]: secret.data })
      assert.deepEqual(
        referenced(props).filter((v) => !names.has(v)),
        [],
      )
      assert.equal(job.spec.backoffLimit, 0)
      assert.equal(
        objects.some((o) => o.kind === 'Secret'),
        false,
        'no placeholder credentials Secret: existingSecret is set',
      )
    }
  })

  test("an operator volume that takes the key Secret's name or /keys is refused before any change", () => {
    const operator = {
      ledger: {
        extraVolumes: [{ name: 'ledger-keys', secret: { secretName: 'mine' } }],
        extraVolumeMounts: [{ name: 'ledger-keys', mountPath: '/keys' }],
      },
    }
    assert.deepEqual(
      valuesProblems(config, () => ({ ledger2: operator.ledger })),
      [],
      "a top-level key other than ledger is not the chart's",
    )
    const keys = valuesProblems(config, () => operator).map((p) => p.key)
    assert.ok(
      keys.some((k) => k.endsWith('ledger.extraVolumes')),
      JSON.stringify(keys),
    )
    assert.ok(keys.some((k) => k.endsWith('ledger.extraVolumeMounts')))
    assert.match(valuesProblems(config, () => ({ ledger: { ledgerProperties: 'x' } }))[0]!.message, /computed by the runbook/)
    assert.deepEqual(
      valuesProblems(config, () => ({ fullnameOverride: 'x', envoy: { nameOverride: 'y' } }))
        .map((p) => p.key.split(': ')[1])
        .sort(),
      ['envoy.nameOverride', 'fullnameOverride'],
    )
    // Every setting the overrides compute is refused when set, named by its path: serverOverrides is
    // the one list, and each operator file's header names each of them (for its reader).
    for (const c of [config, auditor]) {
      const paths = valuePaths(serverOverrides(c, { poolNodes: 3, secretsDigest: 'd', ledgerHost: 'h' }, {}))
      const header = fs
        .readFileSync(valuesFile(c, 'server'), 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('#'))
        .join(' ')
        .replace(/\s*#\s*/g, ' ')
      for (const p of paths) {
        // The key under the chart's section, or for the envoy's Service the annotation's own name.
        const named = p[1] === 'service' ? p.at(-1)!.replace(/^service\.beta\.kubernetes\.io\//, '') : p[1]!
        assert.ok(header.includes(named), `${valuesFile(c, 'server')} names ${p.join('.')}`)
        const set = {}
        p.reduce((o: any, k, i) => (o[k] = i === p.length - 1 ? 'mine' : {}), set)
        assert.deepEqual(
          valuesProblems(c, () => set).map((x) => x.key.split(': ')[1]),
          p[1] === 'service' ? [] : [p.join('.')], // the operator's source ranges are theirs to keep
          p.join('.'),
        )
      }
    }
    // Yours merge or are kept: an annotation, a node label, a list the runbook extends.
    assert.deepEqual(
      valuesProblems(config, () => ({ ledger: { podAnnotations: { team: 'a' }, nodeSelector: { zone: 'z' } } })),
      [],
    )
    assert.deepEqual(
      valuesProblems(auditor, () => ({ auditor: { extraVolumes: [{ name: 'x', emptyDir: {} }] } })),
      [],
    )
    // What the API server would say had the runbook let it through.
    const values = mergeValues(operator, serverOverrides(config, { poolNodes: 3 }, operator))
    assert.throws(
      () =>
        scalardl
          .render('r', 'default', mergeValues(scalardl.defaults(), values), scalardl.versions[0]!)
          .forEach((o) => validate(o.kind, o)),
      /Duplicate value: "ledger-keys"/,
    )
  })
})
