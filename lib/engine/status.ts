// What a task's run comes to: shared by the task model (lib/engine/task.ts) and the logger that prints
// it (lib/engine/log.ts), which otherwise would import each other.
export type TaskStatus = 'ok' | 'changed' | 'planned' | 'failed' | 'skipped'
