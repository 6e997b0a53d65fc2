// A sample ScalarDL Auditor licence for rehearsals and tests: a key shaped as Scalar's trial keys
// are (docs-scalardl docs/scalar-licensing/trial.mdx: JSON with product_name "ScalarDL Auditor"
// and license_type "trial") and a self-signed certificate made for this simulator, not Scalar's.
// The simulated Auditor accepts it; a real one would not (the signature is not Scalar's).
import fs from 'node:fs'
import path from 'node:path'

export const SAMPLE_LICENCE_KEY = JSON.stringify({
  organization_name: 'scalardl-eks-runbook rehearsal',
  expiration_date_time: '2099-12-31T23:59:59+00:00',
  product_name: 'ScalarDL Auditor',
  license_type: 'trial',
  signature: 'simulated-not-a-real-signature',
})

const CERT = `
-----BEGIN CERTIFICATE-----
MIIB7DCCAZOgAwIBAgIULi6hLKBL6dKzGbb04qDxZ1BMy4YwCgYIKoZIzj0EAwIw
SzEgMB4GA1UEAwwXc2ltdWxhdGVkLWxpY2VuY2UtY2hlY2sxJzAlBgNVBAoMHnNj
YWxhcmRsLWVrcy1ydW5ib29rIHNpbXVsYXRvcjAgFw0yNjEyMDEwMjE2MTlaGA8y
MTI2MTEwNzAyMTYxOVowSzEgMB4GA1UEAwwXc2ltdWxhdGVkLWxpY2VuY2UtY2hl
Y2sxJzAlBgNVBAoMHnNjYWxhcmRsLWVrcy1ydW5ib29rIHNpbXVsYXRvcjBZMBMG
ByqGSM49AgEGCCqGSM49AwEHA0IABN1vqeCpFok65NwDGEnxPVoL4Y6CBiCblZbC
R23gJ9uNnEkCHEX6y/XKVQvhleeGoM3UB+LDCCsOr63mHVGCU6ujUzBRMB0GA1Ud
DgQWBBRLC2JAmmGAhzQoeaJeXs6UnhWYejAfBgNVHSMEGDAWgBRLC2JAmmGAhzQo
eaJeXs6UnhWYejAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0cAMEQCIFQh
5u9+fWs2y0CWRPBLYUsTiD0pAS9ElEuuDyPIA57EAiB4xVk9JGzM2rLd4mL4ndUw
4Z+OqTv0lu+Q99Mi45FDhQ==
-----END CERTIFICATE-----
`.trimStart()

/** Writes the sample certificate under dir; returns the two settings that name the licence. */
export function sampleLicence(dir: string): { SCALARDL_AUDITOR_LICENSE_KEY: string; SCALARDL_AUDITOR_LICENSE_CERT_FILE: string } {
  const file = path.join(dir, 'auditor-license-cert.pem')
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(file, CERT, { mode: 0o600 })
  return { SCALARDL_AUDITOR_LICENSE_KEY: SAMPLE_LICENCE_KEY, SCALARDL_AUDITOR_LICENSE_CERT_FILE: file }
}
