/**
 * Speech from the microphone where the host allows it: MediaRecorder on getUserMedia's audio,
 * decoded by WebAudio and written as a 16 kHz mono 16-bit WAV (what the host reads without
 * ffmpeg, and small enough for one upload: about 23 s).
 */
export const RECORD_RATE = 16_000;
export const MAX_RECORD_SECONDS = 23;

export interface Recording {
  stop(): Promise<Blob>;
}

/** Starts recording; rejects with a message saying why the microphone cannot be used here. */
export async function startRecording(): Promise<Recording> {
  if (!navigator.mediaDevices?.getUserMedia || typeof MediaRecorder === 'undefined') throw new Error('This host offers no microphone recording: load a WAV or MP3, or type the sentence.');
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (error) {
    const name = (error as DOMException).name;
    throw new Error(name === 'NotAllowedError' ? 'The microphone was not allowed (by you or by this host): load a WAV or MP3, or type the sentence.' : `No microphone could be opened (${name}): load a WAV or MP3, or type the sentence.`);
  }
  const recorder = new MediaRecorder(stream);
  const chunks: Blob[] = [];
  recorder.ondataavailable = (event) => event.data.size && chunks.push(event.data);
  recorder.start();
  const timer = setTimeout(() => recorder.state === 'recording' && recorder.stop(), MAX_RECORD_SECONDS * 1000);
  return {
    async stop() {
      clearTimeout(timer);
      const stopped = new Promise<void>((resolve) => (recorder.onstop = () => resolve()));
      if (recorder.state === 'recording') recorder.stop();
      await stopped;
      stream.getTracks().forEach((track) => track.stop());
      return toWav(new Blob(chunks, { type: recorder.mimeType }));
    },
  };
}

async function toWav(recorded: Blob): Promise<Blob> {
  const decoder = new AudioContext({ sampleRate: RECORD_RATE });
  try {
    const buffer = await decoder.decodeAudioData(await recorded.arrayBuffer());
    const mono = new Float32Array(buffer.length);
    for (let c = 0; c < buffer.numberOfChannels; c++) buffer.getChannelData(c).forEach((v, i) => (mono[i]! += v / buffer.numberOfChannels));
    const out = new DataView(new ArrayBuffer(44 + mono.length * 2));
    const text = (at: number, s: string) => [...s].forEach((ch, i) => out.setUint8(at + i, ch.charCodeAt(0)));
    text(0, 'RIFF');
    out.setUint32(4, 36 + mono.length * 2, true);
    text(8, 'WAVE');
    text(12, 'fmt ');
    out.setUint32(16, 16, true);
    out.setUint16(20, 1, true);
    out.setUint16(22, 1, true);
    out.setUint32(24, buffer.sampleRate, true);
    out.setUint32(28, buffer.sampleRate * 2, true);
    out.setUint16(32, 2, true);
    out.setUint16(34, 16, true);
    text(36, 'data');
    out.setUint32(40, mono.length * 2, true);
    mono.forEach((v, i) => out.setInt16(44 + i * 2, Math.max(-1, Math.min(1, v)) * 32767, true));
    return new Blob([out.buffer], { type: 'audio/wav' });
  } finally {
    await decoder.close();
  }
}
