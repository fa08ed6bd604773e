import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { type MatNumericArray, type MatSink, readMatVariables } from '../../../main/data/matlab';
import { DatasetError } from '../../../main/data/types';
import { encodeMat, matElement, matHeader, matMatrix, type MatVariableSpec } from '../../helpers/dataset-files';
import { useTempDir } from '../../helpers/temp';

const VARIABLES: MatVariableSpec[] = [
  { name: 'd', className: 'double', dims: [2, 3], values: [1.5, -2, 3, 4, 5, 6e10] },
  // MATLAB stores integral doubles in the narrowest type that holds them.
  { name: 'narrow', className: 'double', dims: [1, 5], values: [0, 1, 10, 200, 255], storage: 'uint8' },
  { name: 's', className: 'single', dims: [1, 2], values: [0.25, -8] },
  { name: 'i8', className: 'int8', dims: [1, 3], values: [-128, 0, 127] },
  { name: 'u8', className: 'uint8', dims: [2, 2, 2], values: [0, 1, 2, 3, 252, 253, 254, 255] },
  { name: 'i16', className: 'int16', dims: [1, 3], values: [-300, 0, 300] },
  { name: 'u16', className: 'uint16', dims: [1, 3], values: [0, 1000, 65535] },
  { name: 'i32', className: 'int32', dims: [1, 3], values: [-70000, 0, 70000] },
  { name: 'u32', className: 'uint32', dims: [1, 3], values: [0, 1, 4_000_000_000] },
  { name: 'i64', className: 'int64', dims: [1, 2], values: [-5, 2 ** 40] },
  { name: 'u64', className: 'uint64', dims: [1, 2], values: [0, 2 ** 50] },
  // Names over 4 bytes use the normal element format; shorter ones the small format.
  { name: 'a_long_variable_name', className: 'uint8', dims: [1, 1], values: [42] },
  { name: 'tiny', className: 'int16', dims: [1, 2], values: [-1, 2] },
];

/** A variable's values as a plain list (bigints for 64-bit integer classes). */
const list = (data: MatNumericArray | null | undefined) => Array.from(data as Iterable<number | bigint>);

describe('MAT-file reader', () => {
  const tmp = useTempDir();
  const write = (bytes: Uint8Array, name = 'data.mat') => {
    const file = path.join(tmp(), name);
    fs.writeFileSync(file, bytes);
    return file;
  };
  const names = VARIABLES.map((v) => v.name);

  for (const compressed of [false, true]) {
    it(`reads every numeric class and storage type (${compressed ? 'miCOMPRESSED' : 'uncompressed'})`, async () => {
      const file = write(encodeMat(VARIABLES, { compressed }));
      const { variables } = await readMatVariables(file, names);
      expect([...variables.keys()].sort()).toEqual([...names].sort());
      for (const spec of VARIABLES) {
        const v = variables.get(spec.name)!;
        expect(v.className).toBe(spec.className);
        expect(v.dims).toEqual(spec.dims);
        expect(v.storage).toBe(spec.storage ?? spec.className);
        expect(v.complex).toBe(false);
        const expected = spec.className.endsWith('64') ? Array.from(spec.values, (n) => BigInt(n)) : Array.from(spec.values);
        expect(list(v.data)).toEqual(expected);
      }
      expect(variables.get('d')!.data).toBeInstanceOf(Float64Array);
      // A double stored as uint8 comes back as doubles.
      expect(variables.get('narrow')!.data).toBeInstanceOf(Float64Array);
      expect(variables.get('s')!.data).toBeInstanceOf(Float32Array);
      expect(variables.get('i64')!.data).toBeInstanceOf(BigInt64Array);
    });

    it(`streams a large array to a sink in order, across chunks (${compressed ? 'miCOMPRESSED' : 'uncompressed'})`, async () => {
      // Larger than the reader's 1 MiB chunks, so it arrives in several pieces.
      const big = new Uint8Array(1_300_001);
      for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 11)) & 255;
      const file = write(encodeMat([{ name: 'big', className: 'uint8', dims: [big.length, 1], values: big }, VARIABLES[0]!], { compressed }));
      const received = new Uint8Array(big.length);
      let pieces = 0;
      let next = 0;
      const sink: MatSink = (chunk, offset) => {
        expect(offset).toBe(next);
        received.set(chunk, offset);
        next += chunk.length;
        pieces++;
      };
      const { variables } = await readMatVariables(file, ['big', 'd'], (h) => (h.name === 'big' ? sink : 'collect'));
      expect(next).toBe(big.length);
      expect(pieces).toBeGreaterThan(1);
      expect(Buffer.compare(received, big)).toBe(0);
      expect(variables.get('big')).toMatchObject({ data: null, storage: 'uint8', storageBytes: big.length, dims: [big.length, 1] });
      expect(list(variables.get('d')!.data)).toEqual(VARIABLES[0]!.values);
    });
  }

  it("skips a variable's data when asked, giving its header", async () => {
    const file = write(encodeMat(VARIABLES, { compressed: true }));
    const { variables } = await readMatVariables(file, ['u8'], () => 'skip');
    expect(variables.get('u8')).toEqual({ name: 'u8', className: 'uint8', dims: [2, 2, 2], complex: false, storage: 'uint8', storageBytes: 8, data: null });
  });

  it('lists the variables it met when a wanted one is missing, and reports char arrays as non-numeric', async () => {
    const file = write(encodeMat([VARIABLES[0]!, { name: 'label', className: 'char', dims: [1, 3], values: [97, 98, 99] }]));
    const { variables, names: seen } = await readMatVariables(file, ['X', 'label']);
    expect(variables.has('X')).toBe(false);
    expect(seen).toEqual(['d', 'label']);
    expect(variables.get('label')).toMatchObject({ className: 'char', storage: null, data: null });
  });

  it('skips top-level elements that are not arrays', async () => {
    const junk = matElement(2, new Uint8Array(12));
    const file = write(Buffer.concat([matHeader(), junk, matMatrix(VARIABLES[0]!)]));
    const { variables } = await readMatVariables(file, ['d']);
    expect(list(variables.get('d')!.data)).toEqual(VARIABLES[0]!.values);
  });

  const rejects = async (file: string, pattern: RegExp, wanted = ['d']) => {
    const error = await readMatVariables(file, wanted).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DatasetError);
    expect((error as DatasetError).file).toBe(file);
    expect((error as DatasetError).message).toMatch(pattern);
    expect((error as DatasetError).message.startsWith(file)).toBe(true);
  };

  it('rejects a MATLAB v7.3 (HDF5) file, by header text or by HDF5 signature', async () => {
    const v73 = Buffer.concat([matHeader('MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 .'), Buffer.alloc(392)]);
    await rejects(write(v73, 'v73.mat'), /v7\.3 MAT-file \(an HDF5 file\), which is not supported.*SVHN's own files.*level-5/);
    const hdf5 = Buffer.concat([Buffer.alloc(512, 0x20), Buffer.from('\x89HDF\r\n\x1a\n', 'latin1'), Buffer.alloc(64)]);
    await rejects(write(hdf5, 'hdf5.mat'), /v7\.3.*HDF5/);
  });

  it('rejects big-endian files, other files and a wrong version', async () => {
    const big = matHeader();
    big.write('MI', 126, 'latin1');
    await rejects(write(big, 'be.mat'), /big-endian/);
    await rejects(write(Buffer.from('not a mat file at all'), 'short.mat'), /too short/);
    await rejects(write(Buffer.alloc(200, 7), 'junk.mat'), /not a MATLAB level-5 MAT-file/);
    const v2 = matHeader();
    v2.writeUInt16LE(0x0200, 124);
    await rejects(write(v2, 'v2.mat'), /version 0x200/);
  });

  it('rejects truncated files, plain and compressed', async () => {
    const plain = encodeMat([VARIABLES[0]!]);
    await rejects(write(plain.subarray(0, plain.length - 20), 'cut.mat'), /file ends 20 bytes short of it: it is truncated/);
    const packed = encodeMat([VARIABLES[0]!], { compressed: true });
    await rejects(write(packed.subarray(0, packed.length - 3), 'cutz.mat'), /truncated/);
    await rejects(write(Buffer.concat([plain, Buffer.alloc(3)]), 'stray.mat'), /3 stray bytes.*truncated/, ['d', 'missing']);
  });

  it('rejects compressed data that is corrupt or ends before its array does', async () => {
    const matrix = matMatrix(VARIABLES[0]!);
    const compressedElement = (payload: Buffer) => {
      const tag = Buffer.alloc(8);
      tag.writeUInt32LE(15, 0);
      tag.writeUInt32LE(payload.length, 4);
      return Buffer.concat([matHeader(), tag, payload]);
    };
    // A complete zlib stream of only part of the array.
    await rejects(write(compressedElement(zlib.deflateSync(matrix.subarray(0, 40))), 'short.mat'), /ends inside the variable at byte 128: it is truncated/);
    const garbage = zlib.deflateSync(matrix);
    garbage.fill(0xff, 2, 12);
    await rejects(write(compressedElement(garbage), 'bad.mat'), /variable at byte 128 cannot be decompressed/);
  });

  it('rejects an array whose data does not match its dimensions', async () => {
    const matrix = matMatrix({ name: 'd', className: 'double', dims: [2, 3], values: [1, 2, 3, 4, 5] });
    await rejects(write(Buffer.concat([matHeader(), matrix])), /\("d", 2x3\) holds 5 double values, but its dimensions call for 6/);
  });
});
