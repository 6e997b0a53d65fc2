// eksctl's CloudFormation stacks that failed and stay behind (ROLLBACK_COMPLETE), which moto's
// CloudFormation cannot produce: the eksctl stand-in records them in the simulator's state
// directory, and the AWS layer reports them through DescribeStacks and DescribeStackEvents
// (sim/failed-stack-hooks.ts).
import fs from 'node:fs'
import path from 'node:path'
import type { AwsHooks } from './faults.ts'

export const FAILED_STACKS_FILE = 'eksctl-failed-stacks.json'

interface FailedStack {
  status: string
  /** The resource whose creation failed, and CloudFormation's reason for it. */
  resource?: string
  reason?: string
}

export function readFailedStacks(stateDir: string): Record<string, FailedStack> {
  try {
    const raw = JSON.parse(fs.readFileSync(path.join(stateDir, FAILED_STACKS_FILE), 'utf8')) as Record<string, string | FailedStack>
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, typeof v === 'string' ? { status: v } : v]))
  } catch {
    return {}
  }
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

/**
 * DescribeStacks and DescribeStackEvents as CloudFormation answers for a stack that failed and
 * rolled back: StackStatus ROLLBACK_COMPLETE with CloudFormation's reason ("The following
 * resource(s) failed to create: [...]. Rollback requested by user."), and, newest first, the
 * stack's ROLLBACK_COMPLETE and the resource's CREATE_FAILED event with the service's message
 * (AWS CloudFormation user guide, "Troubleshooting CloudFormation": the first CREATE_FAILED event
 * holds the cause). moto's answers for the stack the stand-in made are rewritten.
 */
export function failedStackHooks(stateDir: string): AwsHooks {
  return {
    rewrite(service, action, params, text) {
      // A failed stack deleted through CloudFormation (the fix 03 names) is gone for eksctl too.
      if (service === 'cloudformation' && action === 'DeleteStack') {
        const all = readFailedStacks(stateDir)
        const name = params.get('StackName') ?? ''
        if (all[name]) {
          delete all[name]
          fs.writeFileSync(path.join(stateDir, FAILED_STACKS_FILE), JSON.stringify(all))
        }
        return text
      }
      if (service !== 'cloudformation' || !['DescribeStacks', 'DescribeStackEvents'].includes(action)) return text
      const failed = readFailedStacks(stateDir)
      if (!Object.keys(failed).length) return text
      if (action === 'DescribeStacks')
        return text.replace(/<member>([\s\S]*?)<\/member>/g, (member: string, body: string) => {
          const name = /<StackName>([^<]+)<\/StackName>/.exec(body)?.[1]
          const f = name ? failed[name] : undefined
          if (!f || !/<StackStatus>/.test(body)) return member
          const reason = f.resource ? `The following resource(s) failed to create: [${f.resource}]. Rollback requested by user.` : ''
          return `<member>${body
            .replace(/<StackStatus>[^<]*<\/StackStatus>/, `<StackStatus>${f.status}</StackStatus>`)
            .replace(
              /<StackStatusReason>[^<]*<\/StackStatusReason>/,
              '',
            )}${reason ? `<StackStatusReason>${xml(reason)}</StackStatusReason>` : ''}</member>`
        })
      const name = params.get('StackName') ?? ''
      const f = failed[name]
      if (!f?.resource) return text
      const now = new Date().toISOString()
      const event = (id: string, logical: string, type: string, status: string, reason?: string) =>
        `<member><EventId>${id}</EventId><StackName>${xml(name)}</StackName><LogicalResourceId>${logical}</LogicalResourceId><ResourceType>${type}</ResourceType><Timestamp>${now}</Timestamp><ResourceStatus>${status}</ResourceStatus>${reason ? `<ResourceStatusReason>${xml(reason)}</ResourceStatusReason>` : ''}</member>`
      return text.replace(
        /<StackEvents>/,
        `<StackEvents>${event('sim-rollback', name, 'AWS::CloudFormation::Stack', f.status)}${event('sim-failed', f.resource, 'AWS::EKS::Cluster', 'CREATE_FAILED', f.reason)}`,
      )
    },
  }
}
