/** The studio's SQLite store: one file holding projects, experiments, runs and everything they record. */
import { closeDatabase, type Db, openDatabase } from './database';
import { DatasetRepository } from './datasets';
import { MetricRepository } from './metrics';
import { ProjectRepository } from './projects';
import { RunRepository } from './runs';
import { SplitRepository } from './splits';
import { TalkingHeadProjectRepository } from './talking-head-projects';

export class Store {
  readonly projects: ProjectRepository;
  readonly runs: RunRepository;
  readonly metrics: MetricRepository;
  readonly datasets: DatasetRepository;
  readonly splits: SplitRepository;
  readonly talkingHeadProjects: TalkingHeadProjectRepository;

  private constructor(
    readonly path: string,
    readonly db: Db,
  ) {
    this.projects = new ProjectRepository(db);
    this.runs = new RunRepository(db);
    this.metrics = new MetricRepository(db);
    this.datasets = new DatasetRepository(db);
    this.splits = new SplitRepository(db);
    this.talkingHeadProjects = new TalkingHeadProjectRepository(db);
  }

  /** Open (creating and migrating as needed) the database at `path`. */
  static open(path: string, options: { nativeBinding?: string | undefined } = {}): Store {
    return new Store(path, openDatabase(path, options.nativeBinding));
  }

  close(): void {
    closeDatabase(this.db);
  }
}

export { RecordBuffer } from './record-buffer';
export type { MemorySample, RunRecordBatch } from './metrics';
