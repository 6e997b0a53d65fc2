// Configuration rules of the Scalar DL steps (04 for the Ledger, 05 for the Auditor), checked
// before any call: credentials, keys and certificates. Messages never include a secret's value.
import { X509Certificate } from 'node:crypto'
import fs from 'node:fs'
import type { Config, ConfigProblem } from '../config/load.ts'
import { certificateProblem } from './certs.ts'
import { keyFileProblem } from './keys.ts'

const FIX_TOKEN =
  'set GITHUB_TOKEN to a personal access token with read:packages, in .env (mode 600) or the environment; never on a command line'
const FIX_KEY = 'use an EC P-256 private key in PEM with mode 600 (openssl ecparam -name prime256v1 -genkey -noout -out key.pem)'

/** Image pull and database credentials, which both servers need. */
export function credentialProblems(config: Config): ConfigProblem[] {
  const c = config.scalardl
  const problems: ConfigProblem[] = []
  if (!c.github.username)
    problems.push({
      key: 'GITHUB_USERNAME',
      message: 'is required to pull the Scalar DL images from ghcr.io',
      fix: 'set GITHUB_USERNAME to the GitHub account of the token',
    })
  if (!c.github.token)
    problems.push({ key: 'GITHUB_TOKEN', message: 'is required to pull the Scalar DL images from ghcr.io', fix: FIX_TOKEN })
  if (!c.db.username)
    problems.push({
      key: 'SCALARDL_DB_USERNAME',
      message: 'is required: the access key id Scalar DL uses for DynamoDB',
      fix: 'set SCALARDL_DB_USERNAME',
    })
  if (!c.db.password)
    problems.push({
      key: 'SCALARDL_DB_PASSWORD',
      message: 'is required: the secret access key Scalar DL uses for DynamoDB',
      fix: 'set SCALARDL_DB_PASSWORD in .env (mode 600) or the environment',
    })
  return problems
}

/** A private key file: set, existing (or to be generated with the flag), EC P-256, mode 600. */
export function keyProblems(key: string, file: string, generateFlag: string, generating: boolean, why: string): ConfigProblem[] {
  if (!file)
    return [
      {
        key,
        message: `is required ${why}`,
        fix: `set ${key} to a path such as ./${key.toLowerCase().replace(/_private_key_file$/, '')}-key.pem and pass ${generateFlag} to create it`,
      },
    ]
  if (!fs.existsSync(file))
    return generating
      ? []
      : [{ key, message: `${file} does not exist`, fix: `pass ${generateFlag} to create an EC P-256 key there, or point it at your key` }]
  const problem = keyFileProblem(file)
  return problem ? [{ key, message: problem, fix: FIX_KEY }] : []
}

/** A certificate file: set, existing (or to be generated), P-256, not expired, of its key. */
export function certificateProblems(key: string, file: string, keyFile: string, generating: boolean, why: string): ConfigProblem[] {
  if (!file)
    return [
      {
        key,
        message: `is required ${why}`,
        fix: `set ${key} to a path such as ./${key.toLowerCase().replace(/_certificate_file$/, '')}-cert.pem and pass --generate-keys to create a self-signed one`,
      },
    ]
  if (!fs.existsSync(file))
    return generating
      ? []
      : [
          {
            key,
            message: `${file} does not exist`,
            fix: 'pass --generate-keys to create a self-signed certificate there, or point it at the certificate your CA issued',
          },
        ]
  const problem = certificateProblem(file, keyFile)
  return problem
    ? [
        {
          key,
          message: problem,
          fix: `point ${key} at the certificate of the key (issued for its public key), or delete it and pass --generate-keys`,
        },
      ]
    : []
}

const TRIAL_DOC = 'https://scalardl.scalar-labs.com/docs/latest/scalar-licensing/trial/'

/**
 * ScalarDL Auditor's licence (scalardl-auditor-byol is ScalarDL Enterprise; it refuses to start
 * without scalar.dl.licensing.license_key and its check certificate: scalardl v3.13.0
 * common/.../error/CommonError.java:210-233). The key is the JSON Scalar issues; its value is
 * never echoed.
 */
export function licenceProblems(config: Config): ConfigProblem[] {
  const { key, certFile } = config.auditor.license
  const problems: ConfigProblem[] = []
  // Its format is checked with the configuration (lib/config/load.ts); here, that there is one.
  if (!key)
    problems.push({
      key: 'SCALARDL_AUDITOR_LICENSE_KEY',
      message: 'is required: ScalarDL Auditor is ScalarDL Enterprise and does not start without a licence key',
      fix: `set it in .env (mode 600), in single quotes; for an evaluation use Scalar's trial key: ${TRIAL_DOC}`,
    })
  if (!certFile)
    problems.push({
      key: 'SCALARDL_AUDITOR_LICENSE_CERT_FILE',
      message: 'is required: the certificate that checks the licence key',
      fix: `save the certificate from Scalar's licensing page (trial or commercial) as a PEM file and point SCALARDL_AUDITOR_LICENSE_CERT_FILE at it; see ${TRIAL_DOC}`,
    })
  else if (!fs.existsSync(certFile))
    problems.push({
      key: 'SCALARDL_AUDITOR_LICENSE_CERT_FILE',
      message: `${certFile} does not exist`,
      fix: `save the licence check certificate there (PEM); see ${TRIAL_DOC}`,
    })
  else {
    try {
      new X509Certificate(fs.readFileSync(certFile))
    } catch {
      problems.push({
        key: 'SCALARDL_AUDITOR_LICENSE_CERT_FILE',
        message: `${certFile} is not a PEM X.509 certificate`,
        fix: 'save the certificate text from BEGIN CERTIFICATE to END CERTIFICATE, with its line breaks',
      })
    }
  }
  return problems
}
