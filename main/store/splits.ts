/** Splits the user saved by name: a net depth and its cut list, checked before they are stored. */
import { ApiError } from '../../shared/api/errors';
import type { SavedSplit } from '../../shared/api/schemas';
import { SplitError, validateCuts } from '../../shared/engine/splits';
import { type Db, prepare } from './database';
import { isUniqueViolation } from './sqlite-errors';

interface SplitRow {
  id: number;
  name: string;
  depth: number;
  cuts: string;
  created_at: number;
}

const toSplit = (row: SplitRow): SavedSplit => ({ id: row.id, name: row.name, depth: row.depth, cuts: JSON.parse(row.cuts) as number[][], createdAt: row.created_at });

export class SplitRepository {
  constructor(private readonly db: Db) {}

  list(): SavedSplit[] {
    return prepare<[], SplitRow>(this.db, 'SELECT * FROM saved_splits ORDER BY depth, name').all().map(toSplit);
  }

  save(input: { name: string; depth: number; cuts: readonly (readonly number[])[] }, now = Date.now()): SavedSplit {
    let cuts;
    try {
      cuts = validateCuts(input.depth, input.cuts);
    } catch (error) {
      if (error instanceof SplitError || error instanceof RangeError) throw new ApiError('bad_request', `${error.message} Nothing was saved.`);
      throw error;
    }
    try {
      const { lastInsertRowid } = prepare(this.db, 'INSERT INTO saved_splits (name, depth, cuts, created_at) VALUES (?, ?, ?, ?)').run(input.name, input.depth, JSON.stringify(cuts), now);
      return toSplit(prepare<[number], SplitRow>(this.db, 'SELECT * FROM saved_splits WHERE id = ?').get(Number(lastInsertRowid))!);
    } catch (error) {
      if (isUniqueViolation(error)) throw new ApiError('conflict', `A split named "${input.name}" already exists: choose another name, or delete that one first.`);
      throw error;
    }
  }

  remove(id: number): void {
    const { changes } = prepare(this.db, 'DELETE FROM saved_splits WHERE id = ?').run(id);
    if (!changes) throw new ApiError('not_found', `No saved split with id ${id}.`);
  }
}
