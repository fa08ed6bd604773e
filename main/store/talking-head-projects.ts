/** Saved talking-head editor projects: a name and the editor's state, checked before it is stored. */
import { ApiError } from '../../shared/api/errors';
import { type EditorProject, type EditorState, editorState } from '../../shared/speak/editor';
import { type Db, prepare } from './database';
import { isUniqueViolation } from './sqlite-errors';

interface ProjectRow {
  id: number;
  name: string;
  state: string;
  created_at: number;
  updated_at: number;
}

const toProject = (row: ProjectRow): EditorProject => ({ id: row.id, name: row.name, state: editorState.parse(JSON.parse(row.state)), createdAt: row.created_at, updatedAt: row.updated_at });

export class TalkingHeadProjectRepository {
  constructor(private readonly db: Db) {}

  list(): EditorProject[] {
    return prepare<[], ProjectRow>(this.db, 'SELECT * FROM talking_head_projects ORDER BY updated_at DESC, id DESC').all().map(toProject);
  }

  get(id: number): EditorProject {
    const row = prepare<[number], ProjectRow>(this.db, 'SELECT * FROM talking_head_projects WHERE id = ?').get(id);
    if (!row) throw new ApiError('not_found', `No talking-head project with id ${id}.`);
    return toProject(row);
  }

  /** A new project, or project `id` overwritten (its name may change). */
  save(input: { id?: number | undefined; name: string; state: EditorState }, now = Date.now()): EditorProject {
    const parsed = editorState.safeParse(input.state);
    if (!parsed.success) throw new ApiError('bad_request', `Invalid project state: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}. Nothing was saved.`);
    const state = JSON.stringify(parsed.data);
    try {
      if (input.id === undefined) {
        const { lastInsertRowid } = prepare(this.db, 'INSERT INTO talking_head_projects (name, state, created_at, updated_at) VALUES (?, ?, ?, ?)').run(input.name, state, now, now);
        return this.get(Number(lastInsertRowid));
      }
      const { changes } = prepare(this.db, 'UPDATE talking_head_projects SET name = ?, state = ?, updated_at = ? WHERE id = ?').run(input.name, state, now, input.id);
      if (!changes) throw new ApiError('not_found', `No talking-head project with id ${input.id}: save it as a new project. Nothing was saved.`);
      return this.get(input.id);
    } catch (error) {
      if (isUniqueViolation(error)) throw new ApiError('conflict', `A talking-head project named "${input.name}" already exists: choose another name, or open that one and save over it. Nothing was saved.`);
      throw error;
    }
  }
}
