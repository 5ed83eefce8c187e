// @ts-check
/**
 * @module platform/browser
 *
 * The browser layer: what the SDK does with the DOM and WebAudio, kept out of the core so the
 * core runs wherever JavaScript and WebRTC do (React Native, Node with a WebRTC package).
 *
 * - Playback: each audio slot plays through its own hidden `<audio autoplay>` element, in
 *   `audioContainer` (default `document.body`; `null` for none, when the app plays
 *   `room.slotTrack(i)` itself). Browsers may block playback until the user interacted with the
 *   page: `room.media.state.autoplayBlocked` says so and `room.media.resumeAudio()` (from a
 *   click handler) retries.
 * - The microphone level meter behind `room.media.localLevel()` (a WebAudio analyser).
 *
 * The main entry (`alcove.js`) makes {@link browserAudioOutput} the default audio output;
 * without a `document` it returns null (no output), so importing the main entry elsewhere is
 * harmless.
 */

/** @typedef {import('../media.js').AudioOutput} AudioOutput */
/** @typedef {import('../media.js').MediaOptions} MediaOptions */

/**
 * The browser's audio output for one media session, or null without a DOM.
 * @type {import('../media.js').AudioOutputFactory}
 */
export function browserAudioOutput(options) {
  if (typeof document === 'undefined') return null;
  return new BrowserAudioOutput(options);
}

/** @implements {AudioOutput} */
export class BrowserAudioOutput {
  /** @param {MediaOptions} options */
  constructor(options) {
    /** @private */
    this._options = options;
    /** @type {HTMLAudioElement[]} One per audio slot. */
    this.elements = [];
    /** @type {AudioContext | null} @private */
    this._audioContext = null;
    /** @type {AnalyserNode | null} @private */
    this._micAnalyser = null;
    /** @type {Float32Array<ArrayBuffer> | null} @private */
    this._micSamples = null;
  }

  /**
   * Plays the slot tracks: creates the hidden `<audio>` elements, or (a new peer connection
   * with as many slots) points the existing ones at the new tracks.
   * @param {MediaStreamTrack[]} tracks
   */
  play(tracks) {
    const Stream = this._options.MediaStream ?? globalThis.MediaStream;
    if (typeof Stream !== 'function') return;
    if (this.elements.length > 0) {
      if (this.elements.length === tracks.length) {
        this.elements.forEach((el, i) => {
          el.srcObject = new Stream([tracks[i]]);
        });
      }
      return;
    }
    const container = this._options.audioContainer === undefined ? document.body : this._options.audioContainer;
    if (!container) return;
    this.elements = tracks.map((track, i) => {
      const el = document.createElement('audio');
      el.autoplay = true;
      el.dataset.alcoveSlot = String(i);
      el.style.display = 'none';
      el.srcObject = new Stream([track]);
      container.appendChild(el);
      return el;
    });
  }

  /**
   * Starts (or retries) playback of every `<audio>` element and the meter's audio context.
   * @returns {Promise<boolean>} true when every element plays
   */
  async resume() {
    let blocked = false;
    for (const el of this.elements) {
      try {
        await el.play();
      } catch {
        blocked = true;
      }
    }
    if (this._audioContext && this._audioContext.state === 'suspended') {
      try {
        await this._audioContext.resume();
      } catch {
        // Reported through autoplayBlocked only.
      }
    }
    return !blocked;
  }

  /**
   * Meters the microphone (for {@link micLevel}).
   * @param {MediaStream} stream
   */
  watchMic(stream) {
    const Ctx = globalThis.AudioContext;
    if (typeof Ctx !== 'function' || this._audioContext) return;
    try {
      const ctx = new Ctx();
      const src = ctx.createMediaStreamSource(stream);
      const analyser = ctx.createAnalyser();
      analyser.fftSize = 512;
      src.connect(analyser);
      this._audioContext = ctx;
      this._micAnalyser = analyser;
      this._micSamples = new Float32Array(analyser.fftSize);
    } catch {
      // No level meter; not fatal.
    }
  }

  /** The microphone's current level, 0..1 (RMS), or 0 without a meter. */
  micLevel() {
    if (!this._micAnalyser || !this._micSamples) return 0;
    this._micAnalyser.getFloatTimeDomainData(this._micSamples);
    let sum = 0;
    for (const s of this._micSamples) sum += s * s;
    return Math.min(1, Math.sqrt(sum / this._micSamples.length) * 4);
  }

  /** Removes the `<audio>` elements and closes the audio context. */
  close() {
    for (const el of this.elements) {
      el.srcObject = null;
      el.remove();
    }
    this.elements = [];
    if (this._audioContext) void this._audioContext.close().catch(() => {});
    this._audioContext = null;
    this._micAnalyser = null;
    this._micSamples = null;
  }
}
