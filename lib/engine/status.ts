// What a task's run comes to: shared by the task model (lib/task.ts) and the logger that prints
// it (lib/log.ts), which otherwise would import each other.
export type TaskStatus = 'ok' | 'changed' | 'planned' | 'failed' | 'skipped'
