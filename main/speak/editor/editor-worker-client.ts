/** The host's end of the editor worker: started on first use, one request map, closed with the host. */
import { Worker } from 'node:worker_threads';
import { workerScript } from '../../platform/workers';
import type { EditorMessage, EditorReply, EditorRequest, FoundFaceReply, PreviewReply } from './editor-protocol';

type Reply<R extends EditorRequest> = R extends { op: 'find' } ? FoundFaceReply : PreviewReply;

export class EditorWorkerClient {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: never) => void; reject: (error: Error) => void }>();

  request<R extends EditorRequest>(request: R): Promise<Reply<R>> {
    const worker = this.started();
    const id = this.nextId++;
    return new Promise<Reply<R>>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: never) => void, reject });
      worker.ref(); // a pending request keeps the process alive; an idle worker does not
      const transfer = request.op === 'find' ? [Uint8Array.from(request.bytes).buffer] : [];
      worker.postMessage({ id, request } satisfies EditorMessage, transfer as ArrayBuffer[]);
    });
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(workerScript('speak-editor-worker'));
    worker.on('message', (reply: EditorReply) => {
      const waiting = this.pending.get(reply.id);
      if (!waiting) return;
      this.pending.delete(reply.id);
      if (!this.pending.size) worker.unref();
      if (reply.ok) waiting.resolve(reply.result as never);
      else waiting.reject(Object.assign(new Error(reply.message), { name: reply.name }));
    });
    const fail = (error: Error) => {
      for (const waiting of this.pending.values()) waiting.reject(error);
      this.pending.clear();
      this.worker = undefined; // the next request starts a fresh one
    };
    worker.on('error', (error) => fail(new Error(`The talking-head editor's worker crashed: ${error.message}`)));
    worker.on('exit', (code) => fail(new Error(`The talking-head editor's worker stopped (exit code ${code})`)));
    worker.unref(); // an idle editor never keeps the host alive
    this.worker = worker;
    return worker;
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }
}
