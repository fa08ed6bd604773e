/**
 * Coalesces preview requests while a slider moves: at most one request in flight, and when it
 * returns, the latest settings asked for meanwhile (if any) go next; older ones are dropped.
 */
export class LatestOnly<S, R> {
  private inFlight = false;
  private waiting: { settings: S } | null = null;

  constructor(
    private readonly send: (settings: S) => Promise<R>,
    private readonly receive: (result: R, settings: S, roundTripMs: number) => void,
    private readonly fail: (error: unknown) => void,
  ) {}

  request(settings: S): void {
    if (this.inFlight) {
      this.waiting = { settings };
      return;
    }
    void this.run(settings);
  }

  get busy(): boolean {
    return this.inFlight;
  }

  private async run(settings: S): Promise<void> {
    this.inFlight = true;
    const started = performance.now();
    try {
      this.receive(await this.send(settings), settings, performance.now() - started);
    } catch (error) {
      this.fail(error);
    } finally {
      this.inFlight = false;
      const next = this.waiting;
      this.waiting = null;
      if (next) void this.run(next.settings);
    }
  }
}
