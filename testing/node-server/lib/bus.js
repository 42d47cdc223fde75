'use strict';

// The Redis bus of exercise 10: pub/sub for room events and ended sessions,
// and one set per board holding every process's sockets in it, so that
// `viewers` counts them all.

const crypto = require('node:crypto');
const Redis = require('ioredis');
const { SettingError } = require('./settings');

const CHANNEL = 'board:events';
const viewersKey = (boardId) => `board:viewers:${boardId}`;

// The URL as it may be shown: never the user name or the password.
function shownUrl(url) {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}`;
}

class Bus {
  constructor(url) {
    this.processId = crypto.randomUUID();
    this.url = url;
    this.shown = shownUrl(url);
    this.started = false;
    this.lostLogged = false;
    this.onRoomEvent = () => {};
    this.onSessionEnded = () => {};
    const options = {
      lazyConnect: true,
      connectTimeout: 1500,
      // At start a Redis that cannot be reached is a bad setting; later a
      // lost connection is retried with backoff while the process keeps
      // serving its own sockets.
      retryStrategy: (attempt) => (this.started ? Math.min(attempt * 100, 2000) : null),
    };
    this.pub = new Redis(url, options);
    this.sub = new Redis(url, options);
    for (const client of [this.pub, this.sub]) {
      client.on('error', (error) => {
        this.lastError = error;
        if (this.started && !this.lostLogged) {
          this.lostLogged = true;
          console.error(`redis at ${this.shown}: ${error.code || error.message}; reconnecting`);
        }
      });
      client.on('ready', () => {
        if (this.lostLogged) console.error(`redis at ${this.shown}: connected again`);
        this.lostLogged = false;
      });
    }
  }

  async start() {
    try {
      await Promise.all([this.pub.connect(), this.sub.connect()]);
      // A wrong password shows on the first command, not on connecting.
      await this.pub.ping();
      await this.sub.subscribe(CHANNEL);
    } catch (failure) {
      this.pub.disconnect();
      this.sub.disconnect();
      // The connection's own error (say WRONGPASS) says more than the
      // rejected connect() ("Connection is closed").
      const error = this.lastError ?? failure;
      const reason = /WRONGPASS|NOAUTH|invalid password|invalid username/i.test(error.message)
        ? `Redis at ${this.shown} refused the credentials`
        : `cannot reach Redis at ${this.shown} (${error.code || error.message})`;
      throw new SettingError('REDIS_URL', reason);
    }
    this.sub.on('message', (channel, text) => this.receive(text));
    this.started = true;
  }

  receive(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (message.origin === this.processId) return;
    if (message.kind === 'room') this.onRoomEvent(message.boardId, message.frame);
    else if (message.kind === 'session-ended') this.onSessionEnded(message.sessionHash);
  }

  publish(message) {
    this.pub.publish(CHANNEL, JSON.stringify({ origin: this.processId, ...message })).catch(() => {});
  }

  publishRoomEvent(boardId, frame) {
    this.publish({ kind: 'room', boardId, frame });
  }

  publishSessionEnded(sessionHash) {
    this.publish({ kind: 'session-ended', sessionHash });
  }

  member(socketId) {
    return `${this.processId}:${socketId}`;
  }

  async addViewer(boardId, socketId) {
    const key = viewersKey(boardId);
    const [, [, count]] = await this.pub.multi().sadd(key, this.member(socketId)).scard(key).exec();
    return count;
  }

  async removeViewer(boardId, socketId) {
    const key = viewersKey(boardId);
    const [, [, count]] = await this.pub.multi().srem(key, this.member(socketId)).scard(key).exec();
    return count;
  }

  async viewers(boardId) {
    return this.pub.scard(viewersKey(boardId));
  }

  async close() {
    await Promise.allSettled([this.pub.quit(), this.sub.quit()]);
  }
}

module.exports = { Bus };
