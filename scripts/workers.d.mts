export declare const WORKER_ENTRIES: Record<string, string>;
export declare function buildWorkers(outdir?: string): Promise<void>;
