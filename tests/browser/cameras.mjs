// Writes Y4M files for Chromium's --use-file-for-fake-video-capture: a camera that shows one
// solid colour (with a small white square moving along its top edge, so consecutive frames
// differ), at its own size. A receiver can then tell publishers apart by the colour it decodes
// on a slot as well as by the decoded size. 4:2:0, BT.601 studio range (what Chromium assumes
// for an untagged I420 frame when it renders one).
import { writeFileSync } from 'node:fs';

/** @param {[number, number, number]} rgb 0..255 @returns {[number, number, number]} Y, Cb, Cr */
function yuv([r, g, b]) {
  const y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255;
  const u = 128 + (-37.797 * r - 74.203 * g + 112 * b) / 255;
  const v = 128 + (112 * r - 93.786 * g - 18.214 * b) / 255;
  return [y, u, v].map((x) => Math.max(0, Math.min(255, Math.round(x))));
}

/**
 * @param {string} path
 * @param {number} width even
 * @param {number} height even
 * @param {[number, number, number]} rgb the colour, 0..255 per channel
 * @param {number} [fps]
 * @param {number} [frames] the file loops; a whole second at `fps` by default
 */
export function writeCamera(path, width, height, rgb, fps = 15, frames = fps) {
  const [y, u, v] = yuv(rgb);
  const [wy] = yuv([255, 255, 255]);
  const header = Buffer.from(`YUV4MPEG2 W${width} H${height} F${fps}:1 Ip A1:1 C420\n`, 'ascii');
  const frameHeader = Buffer.from('FRAME\n', 'ascii');
  const ySize = width * height;
  const cSize = (width / 2) * (height / 2);
  const frameSize = frameHeader.length + ySize + 2 * cSize;
  const buf = Buffer.alloc(header.length + frames * frameSize);
  header.copy(buf, 0);
  const block = Math.max(8, (height / 8) & ~1);
  for (let f = 0; f < frames; f++) {
    let o = header.length + f * frameSize;
    frameHeader.copy(buf, o);
    o += frameHeader.length;
    buf.fill(y, o, o + ySize);
    // The white square: luma only (chroma stays the colour's, a faint tint nobody samples).
    const x0 = Math.floor(((width - block) * f) / Math.max(1, frames - 1));
    for (let row = 0; row < block; row++) buf.fill(wy, o + row * width + x0, o + row * width + x0 + block);
    o += ySize;
    buf.fill(u, o, o + cSize);
    buf.fill(v, o + cSize, o + 2 * cSize);
  }
  writeFileSync(path, buf);
}
