// Where the simulator's caller stands while commands run on simulated hosts. A host runs up to
// five commands at once (SSM's workers), and the runbook's `bastion run` sends short reads of a
// log while its command runs, so these overlap and end in any order: the caller is the host of the
// latest command still running, and the `caller` knob once none runs. (Saving the caller before a
// command and restoring it after left the caller on the bastion for good when a read that began
// during a command ended after it.)
export class HostCallers {
  private readonly running: string[] = []

  constructor(private readonly knob: () => string) {}

  /** Where the caller stands now. */
  current(): string {
    return this.running.at(-1) ?? this.knob()
  }

  /** Runs `run` with the caller on the instance `id`, until it ends. */
  async during<T>(id: string, run: () => Promise<T>): Promise<T> {
    this.running.push(id)
    try {
      return await run()
    } finally {
      this.running.splice(this.running.lastIndexOf(id), 1)
    }
  }
}
