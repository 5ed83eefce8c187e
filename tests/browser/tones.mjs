// Writes pure-tone WAV files for Chromium's --use-file-for-fake-audio-capture (48 kHz, mono,
// 16-bit PCM). Whole seconds of an integer frequency hold a whole number of periods, so the
// file loops without a click.
import { writeFileSync } from 'node:fs';

/**
 * @param {string} path
 * @param {number} hz integer frequency
 * @param {number} [seconds] integer length
 * @param {number} [amplitude] peak, 0..1
 */
export function writeTone(path, hz, seconds = 4, amplitude = 0.3) {
  const rate = 48000;
  const n = rate * seconds;
  const buf = Buffer.alloc(44 + n * 2);
  buf.write('RIFF', 0, 'ascii');
  buf.writeUInt32LE(36 + n * 2, 4);
  buf.write('WAVE', 8, 'ascii');
  buf.write('fmt ', 12, 'ascii');
  buf.writeUInt32LE(16, 16); // fmt chunk size
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * 2, 28); // byte rate
  buf.writeUInt16LE(2, 32); // block align
  buf.writeUInt16LE(16, 34); // bits per sample
  buf.write('data', 36, 'ascii');
  buf.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) {
    const v = Math.round(amplitude * 32767 * Math.sin((2 * Math.PI * hz * i) / rate));
    buf.writeInt16LE(v, 44 + i * 2);
  }
  writeFileSync(path, buf);
}
