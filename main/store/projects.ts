/** Projects and the experiments inside them. */
import { ApiError } from '../../shared/api/errors';
import type { Experiment, Project } from '../../shared/api/schemas';
import type { JobKind } from '../../shared/ids';
import { type Db, prepare } from './database';
import { type ExperimentRow, type ProjectRow, toExperiment, toProject } from './rows';
import { isUniqueViolation } from './sqlite-errors';

const PROJECT_SELECT = `
  SELECT p.*, (SELECT count(*) FROM experiments e WHERE e.project_id = p.id) AS experiment_count
  FROM projects p`;

const EXPERIMENT_SELECT = `
  SELECT e.*, (SELECT count(*) FROM runs r WHERE r.experiment_id = e.id) AS run_count
  FROM experiments e`;

export class ProjectRepository {
  constructor(private readonly db: Db) {}

  list(): Project[] {
    return prepare<[], ProjectRow>(this.db, `${PROJECT_SELECT} ORDER BY p.created_at DESC, p.id DESC`).all().map(toProject);
  }

  get(id: number): Project {
    const row = prepare<[number], ProjectRow>(this.db, `${PROJECT_SELECT} WHERE p.id = ?`).get(id);
    if (!row) throw new ApiError('not_found', `No project with id ${id}.`);
    return toProject(row);
  }

  create(input: { name: string; description?: string }, now = Date.now()): Project {
    try {
      const { lastInsertRowid } = prepare(this.db, 'INSERT INTO projects (name, description, created_at) VALUES (?, ?, ?)').run(
        input.name,
        input.description ?? '',
        now,
      );
      return this.get(Number(lastInsertRowid));
    } catch (error) {
      if (isUniqueViolation(error)) throw new ApiError('conflict', `A project named "${input.name}" already exists: choose another name.`);
      throw error;
    }
  }

  listExperiments(projectId: number): Experiment[] {
    this.get(projectId);
    return prepare<[number], ExperimentRow>(this.db, `${EXPERIMENT_SELECT} WHERE e.project_id = ? ORDER BY e.created_at DESC, e.id DESC`)
      .all(projectId)
      .map(toExperiment);
  }

  getExperiment(id: number): Experiment {
    const row = prepare<[number], ExperimentRow>(this.db, `${EXPERIMENT_SELECT} WHERE e.id = ?`).get(id);
    if (!row) throw new ApiError('not_found', `No experiment with id ${id}.`);
    return toExperiment(row);
  }

  createExperiment(input: { projectId: number; name: string; kind: JobKind; description?: string }, now = Date.now()): Experiment {
    this.get(input.projectId);
    try {
      const { lastInsertRowid } = prepare(
        this.db,
        'INSERT INTO experiments (project_id, name, kind, description, created_at) VALUES (?, ?, ?, ?, ?)',
      ).run(input.projectId, input.name, input.kind, input.description ?? '', now);
      return this.getExperiment(Number(lastInsertRowid));
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new ApiError('conflict', `This project already has an experiment named "${input.name}": choose another name.`);
      }
      throw error;
    }
  }
}
