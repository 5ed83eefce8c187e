// An in-memory stand-in for the WebSocket constructor: lets tests play the server.

export class FakeWebSocket {
  /** @type {FakeWebSocket[]} */
  static instances = [];

  /** How many of the next sockets fail to open (closed with 1006 instead of opening). */
  static refuseNext = 0;

  /** @param {string} url */
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    const refuse = FakeWebSocket.refuseNext > 0;
    if (refuse) FakeWebSocket.refuseNext -= 1;
    /** @type {any[]} frames the client sent, parsed */
    this.sent = [];
    /** @type {((frame: any) => void)[]} */
    this.waiters = [];
    /** @type {any[]} sent frames nobody asked for with nextSent() yet */
    this.unread = [];
    this.onopen = null;
    this.onmessage = null;
    this.onclose = null;
    this.onerror = null;
    FakeWebSocket.instances.push(this);
    queueMicrotask(() => {
      if (refuse) {
        this.readyState = 3;
        this.onclose?.({ code: 1006, reason: '' });
        return;
      }
      this.readyState = 1;
      this.onopen?.({});
    });
  }

  /** The transport fails without a closing handshake (what a network drop looks like). */
  drop() {
    if (this.readyState === 3) return;
    this.readyState = 3;
    queueMicrotask(() => this.onclose?.({ code: 1006, reason: '' }));
  }

  /** @param {string} text */
  send(text) {
    const frame = JSON.parse(text);
    this.sent.push(frame);
    const w = this.waiters.shift();
    if (w) w(frame);
    else this.unread.push(frame);
  }

  close(code = 1000, reason = '') {
    if (this.readyState === 3) return;
    this.readyState = 3;
    queueMicrotask(() => this.onclose?.({ code, reason }));
  }

  /** The next frame the client sends. */
  nextSent() {
    if (this.unread.length) return Promise.resolve(this.unread.shift());
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Delivers server frames to the client, all in one go (like one TCP read). */
  deliver(...frames) {
    for (const f of frames) this.onmessage?.({ data: typeof f === 'string' ? f : JSON.stringify(f) });
  }
}
