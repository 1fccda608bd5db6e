// A stack of undo actions: create pushes one after each step that changes the system, and runs them in
// reverse when a later step fails, so bad input leaves nothing behind.
export class UndoStack {
  private actions: {what: string; fn: () => void | Promise<void>}[] = []

  push(what: string, fn: () => void | Promise<void>): void {
    this.actions.push({what, fn})
  }

  /** Forget everything: the operation succeeded. */
  clear(): void {
    this.actions = []
  }

  /** Runs every action (newest first); failures are collected, never thrown, so cleanup always completes. */
  async run(): Promise<string[]> {
    const problems: string[] = []
    while (this.actions.length) {
      const {what, fn} = this.actions.pop()!
      try {
        await fn()
      } catch (err) {
        problems.push(`${what}: ${(err as Error).message}`)
      }
    }
    return problems
  }
}
