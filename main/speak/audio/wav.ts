/**
 * 16-bit PCM WAV files: write mono, read mono or multi-channel (mixed down). Only what the
 * corpus and the readers need: RIFF/WAVE with a 'fmt ' (PCM, 16 bit) and a 'data' chunk.
 */

export interface PcmAudio {
  sampleRate: number;
  /** Mono samples in -1..1. */
  samples: Float32Array;
}

/** Encode mono samples (-1..1, clipped) as a 16-bit PCM WAV. */
export function encodeWav(audio: PcmAudio): Buffer {
  const { sampleRate, samples } = audio;
  const data = samples.length * 2;
  const out = Buffer.alloc(44 + data);
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(36 + data, 4);
  out.write('WAVE', 8, 'ascii');
  out.write('fmt ', 12, 'ascii');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20); // PCM
  out.writeUInt16LE(1, 22); // mono
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * 2, 28);
  out.writeUInt16LE(2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(data, 40);
  for (let i = 0; i < samples.length; i++) {
    const v = Math.max(-1, Math.min(1, samples[i]!));
    out.writeInt16LE(Math.round(v < 0 ? v * 32768 : v * 32767), 44 + i * 2);
  }
  return out;
}

/**
 * Decode a 16-bit PCM WAV (any channel count, mixed to mono). Streamed WAVs whose size fields
 * say 0 or 0xFFFFFFFF (espeak-ng --stdout) are read to the end of the buffer.
 */
export function decodeWav(buffer: Buffer, name = 'WAV'): PcmAudio {
  if (buffer.length < 12 || buffer.toString('ascii', 0, 4) !== 'RIFF' || buffer.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error(`${name} is not a WAV file (no RIFF/WAVE header). Convert it to 16-bit PCM WAV, e.g. ffmpeg -i in.mp3 -ac 1 -c:a pcm_s16le out.wav.`);
  }
  let offset = 12;
  let channels = 0, sampleRate = 0, bits = 0, format = 0;
  while (offset + 8 <= buffer.length) {
    const id = buffer.toString('ascii', offset, offset + 4);
    let size = buffer.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      format = buffer.readUInt16LE(body);
      channels = buffer.readUInt16LE(body + 2);
      sampleRate = buffer.readUInt32LE(body + 4);
      bits = buffer.readUInt16LE(body + 14);
    } else if (id === 'data') {
      if (format !== 1 && format !== 0xfffe) throw new Error(`${name} is WAV format ${format}, not PCM. Convert it: ffmpeg -i in.wav -c:a pcm_s16le out.wav.`);
      if (bits !== 16) throw new Error(`${name} has ${bits}-bit samples; 16-bit PCM is needed (ffmpeg -i in.wav -c:a pcm_s16le out.wav).`);
      if (!channels || !sampleRate) throw new Error(`${name} has its data chunk before its format chunk.`);
      if (size === 0 || size === 0xffffffff || body + size > buffer.length) size = buffer.length - body;
      const frames = Math.floor(size / (2 * channels));
      const samples = new Float32Array(frames);
      for (let i = 0; i < frames; i++) {
        let sum = 0;
        for (let c = 0; c < channels; c++) sum += buffer.readInt16LE(body + (i * channels + c) * 2);
        samples[i] = sum / channels / 32768;
      }
      return { sampleRate, samples };
    }
    offset = body + size + (size % 2);
  }
  throw new Error(`${name} has no data chunk: the file is cut short or not a PCM WAV.`);
}
