/**
 * Undo/redo over snapshots of the editor's document (plain JSON). A burst of changes to one
 * control (a slider dragged, a key dragged) is one step: a snapshot is taken when a change begins,
 * not at every value it passes through.
 */
export class History<T> {
  private readonly undoStack: string[] = [];
  private readonly redoStack: string[] = [];
  private lastTag: string | null = null;
  private lastAt = 0;

  constructor(
    private readonly limit = 200,
    private readonly burstMs = 700,
  ) {}

  /** Call before changing the document; `tag` names the control, so a burst is recorded once. */
  record(current: T, tag: string, now = Date.now()): void {
    if (tag === this.lastTag && now - this.lastAt < this.burstMs) {
      this.lastAt = now;
      return;
    }
    this.undoStack.push(JSON.stringify(current));
    if (this.undoStack.length > this.limit) this.undoStack.shift();
    this.redoStack.length = 0;
    this.lastTag = tag;
    this.lastAt = now;
  }

  undo(current: T): T | null {
    const previous = this.undoStack.pop();
    if (previous === undefined) return null;
    this.redoStack.push(JSON.stringify(current));
    this.lastTag = null;
    return JSON.parse(previous) as T;
  }

  redo(current: T): T | null {
    const next = this.redoStack.pop();
    if (next === undefined) return null;
    this.undoStack.push(JSON.stringify(current));
    this.lastTag = null;
    return JSON.parse(next) as T;
  }

  get canUndo(): boolean {
    return this.undoStack.length > 0;
  }

  get canRedo(): boolean {
    return this.redoStack.length > 0;
  }

  clear(): void {
    this.undoStack.length = 0;
    this.redoStack.length = 0;
    this.lastTag = null;
  }
}
