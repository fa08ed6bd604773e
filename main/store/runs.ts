/** Runs: their config, life cycle, environment, tags and notes. */
import { ApiError } from '../../shared/api/errors';
import type { Run, RunEnvironment, RunSortKey } from '../../shared/api/schemas';
import type { JobKind, RunStatus } from '../../shared/ids';
import { type Db, prepare } from './database';
import { type RunRow, toRun } from './rows';
import { matchesAll, runSearchText, searchNeedles } from './run-search';

const RUN_SELECT = `
  SELECT r.*, (SELECT json_group_array(tag) FROM tags t WHERE t.run_id = r.id) AS tags
  FROM runs r`;

const TERMINAL: readonly RunStatus[] = ['done', 'failed', 'cancelled', 'interrupted'];

export interface NewRun {
  experimentId: number;
  name: string;
  kind: JobKind;
  config: Record<string, unknown>;
  seed?: number | null;
  environment?: RunEnvironment | null;
}

export interface RunQuery {
  experimentId?: number | undefined;
  status?: RunStatus | undefined;
  /** Any of these statuses / methods / data sets. */
  statuses?: readonly RunStatus[] | undefined;
  methods?: readonly string[] | undefined;
  datasets?: readonly string[] | undefined;
  depths?: readonly number[] | undefined;
  /** Every one of these tags. */
  tags?: readonly string[] | undefined;
  /** Words found in the name, notes, tags or the settings the method uses (all of them, case-insensitive). */
  text?: string | undefined;
  sort?: RunSortKey | undefined;
  descending?: boolean | undefined;
  limit: number;
  offset: number;
}

/** SQL of each sort key; nulls (no result yet) sort last either way. */
const SORT_SQL: Record<RunSortKey, string> = {
  created: 'r.created_at',
  name: 'r.name COLLATE NOCASE',
  status: 'r.status',
  method: 'r.method',
  depth: 'r.depth',
  dataset: 'r.dataset',
  modules: 'r.modules',
  best: 'r.best_test_acc',
  final: 'r.final_test_acc',
  peak: 'r.peak_bytes',
  // Time spent training only: not waiting in the queue, not stopped before a resume.
  duration: 'CASE WHEN r.started_at IS NULL THEN NULL ELSE r.trained_ms + coalesce($now - r.running_since, 0) END',
  speed: 'r.images_per_second',
  psnr: 'r.final_psnr',
  map: 'r.final_map',
};

export class RunRepository {
  constructor(private readonly db: Db) {
    // The needles are the same for every row of a query: parsed once.
    let last: { json: string; needles: string[] } = { json: '[]', needles: [] };
    db.function('run_matches', { deterministic: true }, (name, notes, tags, config, json) => {
      if (json !== last.json) last = { json: String(json), needles: JSON.parse(String(json)) as string[] };
      return matchesAll(runSearchText(String(name), String(notes), tags === null ? null : String(tags), String(config)), last.needles) ? 1 : 0;
    });
  }

  create(input: NewRun, now = Date.now()): Run {
    const { lastInsertRowid } = prepare(
      this.db,
      `INSERT INTO runs (experiment_id, name, kind, status, config, seed, created_at, environment)
       VALUES ($experimentId, $name, $kind, 'queued', $config, $seed, $now, $environment)`,
    ).run({
      experimentId: input.experimentId,
      name: input.name,
      kind: input.kind,
      config: JSON.stringify(input.config),
      seed: input.seed ?? null,
      now,
      environment: input.environment ? JSON.stringify(input.environment) : null,
    });
    return this.get(Number(lastInsertRowid));
  }

  get(id: number): Run {
    const row = prepare<[number], RunRow>(this.db, `${RUN_SELECT} WHERE r.id = ?`).get(id);
    if (!row) throw new ApiError('not_found', `No run with id ${id}.`);
    return toRun(row);
  }

  /** A page of runs matching every filter, sorted in SQL (indexed columns), with the total count. */
  list(query: RunQuery, now = Date.now()): { total: number; runs: Run[] } {
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: query.limit, offset: query.offset };
    const anyOf = (column: string, name: string, values: readonly unknown[] | undefined) => {
      if (!values?.length) return;
      where.push(`${column} IN (${values.map((_, i) => `$${name}${i}`).join(', ')})`);
      values.forEach((v, i) => (params[`${name}${i}`] = v));
    };
    if (query.experimentId !== undefined) {
      where.push('r.experiment_id = $experimentId');
      params.experimentId = query.experimentId;
    }
    anyOf('r.status', 'status', query.status !== undefined ? [query.status] : query.statuses);
    anyOf('r.method', 'method', query.methods);
    anyOf('r.dataset', 'dataset', query.datasets);
    anyOf('r.depth', 'depth', query.depths);
    query.tags?.forEach((tag, i) => {
      where.push(`EXISTS (SELECT 1 FROM tags t WHERE t.run_id = r.id AND t.tag = $tag${i})`);
      params[`tag${i}`] = tag;
    });
    // Words match the name, notes, tags and the settings the run's method uses (./run-search.ts).
    const needles = searchNeedles(query.text ?? '');
    if (needles.length) {
      where.push(`run_matches(r.name, r.notes, (SELECT group_concat(tag, ' ') FROM tags t WHERE t.run_id = r.id), r.config, $needles)`);
      params.needles = JSON.stringify(needles);
    }
    const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const { total } = prepare<[object], { total: number }>(this.db, `SELECT count(*) AS total FROM runs r ${filter}`).get(params)!;
    const sort = SORT_SQL[query.sort ?? 'created'];
    if (sort.includes('$now')) params.now = now;
    const direction = query.sort === undefined || query.descending ? 'DESC' : 'ASC';
    const rows = prepare<[object], RunRow>(this.db, `${RUN_SELECT} ${filter} ORDER BY (${sort}) IS NULL, ${sort} ${direction}, r.id ${direction} LIMIT $limit OFFSET $offset`).all(params);
    return { total, runs: rows.map(toRun) };
  }

  /** Delete runs with everything they recorded; refuses, deleting nothing, if one is training or queued. */
  remove(ids: readonly number[]): void {
    const runs = ids.map((id) => this.get(id));
    const busy = runs.filter((r) => r.status === 'running' || r.status === 'queued');
    if (busy.length) throw new ApiError('conflict', `Run${busy.length > 1 ? 's' : ''} ${busy.map((r) => r.id).join(', ')} ${busy.length > 1 ? 'are' : 'is'} ${busy[0]!.status}: cancel before deleting. Nothing was deleted.`);
    const remove = prepare(this.db, 'DELETE FROM runs WHERE id = ?');
    this.db.transaction(() => ids.forEach((id) => remove.run(id)))();
  }

  /** Record that this process (pid on host) trains the run now. */
  claim(id: number, owner: { pid: number; host: string }): void {
    const { changes } = prepare(this.db, 'UPDATE runs SET owner_pid = ?, owner_host = ? WHERE id = ?').run(owner.pid, owner.host, id);
    if (!changes) throw new ApiError('not_found', `No run with id ${id}.`);
  }

  /** The process that trains (or queued) the run, or null when none claimed it. */
  owner(id: number): { pid: number; host: string } | null {
    const row = prepare<[number], { owner_pid: number | null; owner_host: string | null }>(this.db, 'SELECT owner_pid, owner_host FROM runs WHERE id = ?').get(id);
    if (!row) throw new ApiError('not_found', `No run with id ${id}.`);
    return row.owner_pid !== null && row.owner_host !== null ? { pid: row.owner_pid, host: row.owner_host } : null;
  }

  /** The environment a run trains in, known once its worker has started the backend. */
  setEnvironment(id: number, environment: RunEnvironment): void {
    const { changes } = prepare(this.db, 'UPDATE runs SET environment = ? WHERE id = ?').run(JSON.stringify(environment), id);
    if (!changes) throw new ApiError('not_found', `No run with id ${id}.`);
  }

  /** Queued runs this process owns, oldest first: the job queue. */
  queuedBy(owner: { pid: number; host: string }): number[] {
    return prepare<[number, string], { id: number }>(this.db, `SELECT id FROM runs WHERE status = 'queued' AND owner_pid = ? AND owner_host = ? ORDER BY coalesce(queue_position, id), id`)
      .all(owner.pid, owner.host)
      .map((row) => row.id);
  }

  /** Put the queue in this order; `order` must list exactly the runs queuedBy returns. */
  reorderQueue(owner: { pid: number; host: string }, order: readonly number[]): void {
    const queued = this.queuedBy(owner);
    if (order.length !== queued.length || new Set(order).size !== order.length || !order.every((id) => queued.includes(id))) {
      throw new ApiError('conflict', `The queue is now [${queued.join(', ')}]; a new order must list exactly those runs (it changed while you reordered: look again).`);
    }
    const position = prepare(this.db, 'UPDATE runs SET queue_position = ? WHERE id = ?');
    this.db.transaction(() => order.forEach((id, i) => position.run(i, id)))();
  }

  /**
   * Take over the queued runs whose owner on this host is gone (a studio closed or killed with
   * work still queued), so the queue survives a restart. Returns the ids taken.
   */
  adoptQueued(owner: { pid: number; host: string }, isAlive: (pid: number) => boolean): number[] {
    const orphans = prepare<[string], { id: number; owner_pid: number }>(this.db, `SELECT id, owner_pid FROM runs WHERE status = 'queued' AND owner_host = ? AND owner_pid IS NOT NULL`)
      .all(owner.host)
      .filter((row) => row.owner_pid !== owner.pid && !isAlive(row.owner_pid));
    for (const { id } of orphans) this.claim(id, owner);
    return orphans.map((row) => row.id);
  }

  /**
   * Mark `interrupted` every run still `running` whose training process on `host` is gone
   * (killed, crashed, power cut): what a kill -9 leaves. Runs of live processes and of other
   * hosts sharing the file are left alone. Returns the ids marked.
   */
  recoverInterrupted(host: string, isAlive: (pid: number) => boolean, now = Date.now()): number[] {
    const stale = prepare<[string], { id: number; owner_pid: number }>(this.db, `SELECT id, owner_pid FROM runs WHERE status = 'running' AND owner_host = ? AND owner_pid IS NOT NULL`)
      .all(host)
      .filter((row) => !isAlive(row.owner_pid));
    for (const { id, owner_pid } of stale) {
      this.setStatus(id, 'interrupted', `The process training it (pid ${owner_pid}) stopped before it finished; resume it from its last checkpoint.`, now);
    }
    return stale.map((row) => row.id);
  }

  /** Move a run along its life cycle, stamping start and end times. */
  setStatus(id: number, status: RunStatus, error: string | null = null, now = Date.now()): Run {
    const { changes } = prepare(
      this.db,
      `UPDATE runs SET status = $status, error = $error,
         started_at = CASE WHEN $status = 'running' AND started_at IS NULL THEN $now ELSE started_at END,
         ended_at = CASE WHEN $terminal THEN $now ELSE NULL END,
         trained_ms = trained_ms + CASE WHEN $status != 'running' AND running_since IS NOT NULL THEN $now - running_since ELSE 0 END,
         running_since = CASE WHEN $status = 'running' THEN coalesce(running_since, $now) ELSE NULL END
       WHERE id = $id`,
    ).run({ id, status, error, now, terminal: TERMINAL.includes(status) ? 1 : 0 });
    if (!changes) throw new ApiError('not_found', `No run with id ${id}.`);
    return this.get(id);
  }

  update(id: number, patch: { name?: string | undefined; notes?: string | undefined }): Run {
    this.get(id);
    this.db.transaction(() => {
      if (patch.name !== undefined) prepare(this.db, 'UPDATE runs SET name = ? WHERE id = ?').run(patch.name, id);
      if (patch.notes !== undefined) prepare(this.db, 'UPDATE runs SET notes = ? WHERE id = ?').run(patch.notes, id);
    })();
    return this.get(id);
  }

  tag(id: number, add: readonly string[], remove: readonly string[]): Run {
    this.get(id);
    this.db.transaction(() => {
      for (const tag of add) prepare(this.db, 'INSERT OR IGNORE INTO tags (run_id, tag) VALUES (?, ?)').run(id, tag);
      for (const tag of remove) prepare(this.db, 'DELETE FROM tags WHERE run_id = ? AND tag = ?').run(id, tag);
    })();
    return this.get(id);
  }
}
