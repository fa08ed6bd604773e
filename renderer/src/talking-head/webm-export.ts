/**
 * A generated clip to a WebM with sound, in the browser: its frames drawn on a canvas whose
 * stream (captureStream) is recorded by MediaRecorder together with the clip's WAV played
 * through WebAudio into a MediaStream destination. Frames follow the audio clock, so picture
 * and sound stay in step; the recording lasts as long as the speech (real time).
 */
import type { ClipMedia } from '../../../shared/speak/editor';
import { dataUrlBytes } from './zip';

export async function loadFrames(urls: readonly string[]): Promise<HTMLImageElement[]> {
  return Promise.all(
    urls.map(
      (url) =>
        new Promise<HTMLImageElement>((resolve, reject) => {
          const image = new Image();
          image.onload = () => resolve(image);
          image.onerror = () => reject(new Error('A frame of the clip could not be decoded.'));
          image.src = url;
        }),
    ),
  );
}

export function webmType(): string {
  const types = ['video/webm;codecs=vp9,opus', 'video/webm;codecs=vp8,opus', 'video/webm'];
  const found = types.find((t) => typeof MediaRecorder !== 'undefined' && MediaRecorder.isTypeSupported(t));
  if (!found) throw new Error('This browser cannot record WebM (MediaRecorder): export the PNG frames and WAV instead.');
  return found;
}

/** Records the clip at `side` px; resolves with the WebM. */
export async function recordWebm(clip: ClipMedia, side = 256, onProgress?: (fraction: number) => void): Promise<Blob> {
  const type = webmType();
  const frames = await loadFrames(clip.frames);
  const canvas = document.createElement('canvas');
  canvas.width = side;
  canvas.height = side;
  const context = canvas.getContext('2d')!;
  context.imageSmoothingEnabled = true;
  context.drawImage(frames[0]!, 0, 0, side, side);
  const audioContext = new AudioContext();
  let painting = true;
  try {
    const bytes = dataUrlBytes(clip.audioUrl);
    const buffer = await audioContext.decodeAudioData(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
    const destination = audioContext.createMediaStreamDestination();
    const source = audioContext.createBufferSource();
    source.buffer = buffer;
    source.connect(destination);
    const video = canvas.captureStream(clip.fps);
    const stream = new MediaStream([...video.getVideoTracks(), ...destination.stream.getAudioTracks()]);
    const recorder = new MediaRecorder(stream, { mimeType: type, videoBitsPerSecond: 2_000_000 });
    const chunks: Blob[] = [];
    recorder.ondataavailable = (event) => event.data.size && chunks.push(event.data);
    const stopped = new Promise<void>((resolve) => (recorder.onstop = () => resolve()));
    const ended = new Promise<void>((resolve) => (source.onended = () => resolve()));
    recorder.start();
    const started = audioContext.currentTime;
    source.start(started);
    // Frames follow the audio clock; the last one is painted on until the recorder stops, so the
    // video track lasts as long as the sound (a canvas stream only sends frames that are painted).
    // (Waiting for the recorder's start event before the sound was tried: Chromium fires it up to
    // 0.6 s after it began recording frames, which made the video that much longer than the sound.)
    const reachedEnd = new Promise<void>((resolve) => {
      const draw = () => {
        const t = audioContext.currentTime - started;
        const index = Math.min(frames.length - 1, Math.floor(t * clip.fps));
        context.drawImage(frames[index]!, 0, 0, side, side);
        onProgress?.(Math.min(1, t / buffer.duration));
        if (t >= buffer.duration) resolve();
        if (painting) requestAnimationFrame(draw);
      };
      requestAnimationFrame(draw);
    });
    await reachedEnd;
    // The sound reaches the recorder a little after the audio clock: stop once the last of it is in.
    await ended;
    const latency = Math.min(0.2, audioContext.baseLatency + ((audioContext as AudioContext & { outputLatency?: number }).outputLatency ?? 0));
    await new Promise((resolve) => setTimeout(resolve, latency * 1000));
    recorder.stop();
    await stopped;
    video.getTracks().forEach((track) => track.stop());
    return new Blob(chunks, { type: type.split(';')[0] });
  } finally {
    painting = false;
    await audioContext.close();
  }
}
