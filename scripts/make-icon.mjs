// Draws resources/icon.png (1024x1024): three stacked blocks, the middle one cut away as a
// local module. electron-builder derives the .ico and .icns from it.
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const SIZE = 1024;
const pixels = Buffer.alloc(SIZE * SIZE * 4);
const rect = (x0, y0, x1, y1, [r, g, b]) => {
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) pixels.set([r, g, b, 255], (y * SIZE + x) * 4);
};
const roundedBackground = (radius, colour) => {
  for (let y = 0; y < SIZE; y++)
    for (let x = 0; x < SIZE; x++) {
      const dx = Math.max(radius - x, x - (SIZE - 1 - radius), 0);
      const dy = Math.max(radius - y, y - (SIZE - 1 - radius), 0);
      if (dx * dx + dy * dy <= radius * radius) pixels.set([...colour, 255], (y * SIZE + x) * 4);
    }
};
roundedBackground(180, [22, 33, 52]);
rect(192, 200, 832, 340, [24, 160, 88]);
rect(192, 442, 832, 582, [240, 160, 32]);
rect(192, 684, 832, 824, [32, 128, 240]);

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (buf) => {
  let c = 0xffffffff;
  for (const byte of buf) c = crcTable[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
const chunk = (type, data) => {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
};
const header = Buffer.alloc(13);
header.writeUInt32BE(SIZE, 0);
header.writeUInt32BE(SIZE, 4);
header.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA
const raw = Buffer.alloc(SIZE * (SIZE * 4 + 1));
for (let y = 0; y < SIZE; y++) pixels.copy(raw, y * (SIZE * 4 + 1) + 1, y * SIZE * 4, (y + 1) * SIZE * 4);
const png = Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
writeFileSync(new URL('../resources/icon.png', import.meta.url), png);
console.log(`resources/icon.png: ${png.length} bytes`);
