// The task model: a step is an ordered list of tasks; each task reads live state in check()
// and, when the desired state does not hold, makes it hold in apply().
import type { Config, ConfigProblem } from '../config/load.ts'
import type { Logger } from './log.ts'
import type { AwsSession } from '../aws/clients.ts'
import type { TaskStatus } from './status.ts'

export type { TaskStatus }
export type StepStatus = 'ok' | 'changed' | 'planned' | 'failed'

export interface CheckResult<R = unknown> {
  /** True when the desired state already holds. */
  holds: boolean
  /** What is there, or what differs and would change. */
  detail?: string
  /**
   * The state cannot be reached by apply() (for example a resource with the same name that the
   * runbook did not create): the task fails, in --dry-run too, with this message.
   */
  conflict?: string
  hint?: string
  /**
   * What the check read that its apply needs (the nodes still untainted, the release as listed):
   * the runner hands it to apply, which it calls right after, so apply acts on that reading
   * instead of asking helm or kubectl again.
   */
  reading?: R
}

export interface TaskContext {
  config: Config
  dryRun: boolean
  yes: boolean
  log: Logger
  aws: AwsSession
  /** Flags given on the command line beyond the common ones. */
  flags: Record<string, boolean | string>
}

export interface Task<S = unknown, R = unknown> {
  title: string
  check(ctx: TaskContext, state: S): Promise<CheckResult<R>>
  /** Makes the desired state hold, given its check's reading; returns what it did. Absent for assertion-only tasks. */
  apply?(ctx: TaskContext, state: S, reading: R | undefined): Promise<string | undefined>
  /** What to do when the task fails, shown with the error. */
  hint?: string
}

/**
 * Tasks that need nothing of each other, run side by side: each lane runs its items in order,
 * the lanes at once. A failure stops the step as anywhere else: the tasks running in the other
 * lanes finish, the rest is skipped. Results are still reported in the order written.
 */
interface SideBySide<S = unknown> {
  lanes: StepItem<S>[][]
}

/** What a step lists: a task, or tasks side by side. */
export type StepItem<S = unknown> = Task<S> | SideBySide<S>

export const isSideBySide = <S>(item: StepItem<S>): item is SideBySide<S> => 'lanes' in item

/** Lanes run at once, e.g. sideBySide([repo], [namespace, pullSecret]). Lanes must not write the same state. */
export function sideBySide<S>(...lanes: (StepItem<S> | StepItem<S>[])[]): SideBySide<S> {
  return { lanes: lanes.map((l) => (Array.isArray(l) ? l : [l])) }
}

/** Every task of a list of items, in the order written. */
export function flatTasks<S>(items: StepItem<S>[]): Task<S>[] {
  return items.flatMap((i) => (isSideBySide(i) ? i.lanes.flatMap((l) => flatTasks(l)) : [i]))
}

export interface TaskResult {
  title: string
  status: TaskStatus
  detail: string
  /** Time spent on the task in this run (its check, and its apply if any). */
  durationMs?: number
}

export interface StepResult {
  step: string
  status: StepStatus
  summary: Record<TaskStatus, number>
  tasks: TaskResult[]
  durationMs: number
}

export interface StepDefinition<S = unknown> {
  /** e.g. "01-vpc" */
  name: string
  /** One line: the guide's step this implements. */
  description: string
  /** Shared, step-local state the tasks fill in as they discover or create resources. */
  state?: () => S
  tasks: StepItem<S>[]
  /** Changes nothing (preflight): takes no run lock. */
  readOnly?: boolean
  /**
   * The clusters whose run locks the step takes, in this order (default: CLUSTER_NAME). A step
   * that changes only the Auditor's side locks only the Auditor's cluster, so it can run beside
   * the Ledger's steps; one that touches both locks both.
   */
  locks?: (config: Config, flags: Record<string, boolean | string>) => string[]
  /** Alternative task lists chosen by a boolean flag, e.g. { prepare: [...] }. */
  variants?: Record<string, StepItem<S>[]>
  /** Run every task even when one fails (checklists such as preflight and verify). */
  continueOnFailure?: boolean
  /** Run all checks at once (independent, read-only checks); results are still reported in order. */
  concurrent?: boolean
  /** Extra lines for --help. */
  help?: string
  /** Step-specific boolean flags, e.g. { 'allow-no-system-nodes': 'description' }. */
  flags?: Record<string, string>
  /** Step-specific string options, e.g. { confirm: 'NAME  description' }. */
  stringFlags?: Record<string, string>
  /**
   * Asked before any change (not in --dry-run): returns undefined to go on, or why not (exit 2,
   * nothing touched). For destructive steps.
   */
  confirm?: (config: Config, flags: Record<string, boolean | string>, yes: boolean) => Promise<string | undefined>
  /** Step-specific configuration rules (with the step's flags); problems exit 2 before any call. */
  validate?: (config: Config, flags: Record<string, boolean | string>) => ConfigProblem[]
  /**
   * Configuration rules that need to read AWS (e.g. that client VPCs exist and do not overlap):
   * read-only; problems exit 2 before any change, as validate's do.
   */
  preflight?: (ctx: TaskContext) => Promise<ConfigProblem[]>
  /** Printed after the recap, e.g. preflight's table. */
  report?: (result: StepResult, ctx: TaskContext, state: S) => string | undefined
}

export function defineStep<S>(def: StepDefinition<S>): StepDefinition<S> {
  return def
}
