/** Data sets imported from disk: where they are and what their reader found there. */
import { ApiError } from '../../shared/api/errors';
import type { DatasetKind } from '../../shared/ids';
import { type Db, prepare } from './database';
import { isUniqueViolation } from './sqlite-errors';

export interface DatasetRecord<S = unknown> {
  id: number;
  name: string;
  kind: DatasetKind;
  path: string;
  summary: S;
  createdAt: number;
}

interface DatasetRow {
  id: number;
  name: string;
  kind: string;
  path: string;
  summary: string;
  created_at: number;
}

const toRecord = <S>(r: DatasetRow): DatasetRecord<S> => ({
  id: r.id,
  name: r.name,
  kind: r.kind as DatasetKind,
  path: r.path,
  summary: JSON.parse(r.summary) as S,
  createdAt: r.created_at,
});

export class DatasetRepository {
  constructor(private readonly db: Db) {}

  list<S>(): DatasetRecord<S>[] {
    return prepare<[], DatasetRow>(this.db, 'SELECT * FROM datasets ORDER BY created_at DESC, id DESC').all().map((r) => toRecord<S>(r));
  }

  get<S>(id: number): DatasetRecord<S> {
    const row = prepare<[number], DatasetRow>(this.db, 'SELECT * FROM datasets WHERE id = ?').get(id);
    if (!row) throw new ApiError('not_found', `No data set with id ${id}.`);
    return toRecord<S>(row);
  }

  add<S>(input: { name: string; kind: DatasetKind; path: string; summary: S }, now = Date.now()): DatasetRecord<S> {
    try {
      const { lastInsertRowid } = prepare(this.db, 'INSERT INTO datasets (name, kind, path, summary, created_at) VALUES (?, ?, ?, ?, ?)').run(
        input.name,
        input.kind,
        input.path,
        JSON.stringify(input.summary),
        now,
      );
      return this.get<S>(Number(lastInsertRowid));
    } catch (error) {
      if (isUniqueViolation(error)) throw new ApiError('conflict', `A data set named "${input.name}" already exists: choose another name.`);
      throw error;
    }
  }

  remove(id: number): void {
    const { changes } = prepare(this.db, 'DELETE FROM datasets WHERE id = ?').run(id);
    if (!changes) throw new ApiError('not_found', `No data set with id ${id}.`);
  }
}
