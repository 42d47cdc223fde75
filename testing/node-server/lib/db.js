'use strict';

// The SQLite database: schema, seed rows and every query the server makes.
// better-sqlite3 is synchronous, which suits SQLite: each query is a short
// read or write on a local file, and the server always sees what is in the
// file right now, including rows an administrator changed behind its back.

const crypto = require('node:crypto');
const Database = require('better-sqlite3');

// Session ids, API tokens and tickets are stored as SHA-256 hashes, so a
// copy of the database does not hand out working credentials.
function hashSecret(secret) {
  return crypto.createHash('sha256').update(secret).digest('hex');
}

function newSecret() {
  return crypto.randomBytes(32).toString('base64url');
}

const nowSecs = () => Math.floor(Date.now() / 1000);

// The seed users' passwords hashed with scrypt (see passwords.js). They are
// constants so that a start does not spend a second of CPU hashing the
// same three passwords again.
const SEED_USERS = [
  ['user-alice', 'Alice', 'alice', 'scrypt$16384$8$1$fVebhEThU+3oqqFKs3QZqw==$0ox+onphbmBtPFvj6putoau/AacgBp/koPjvKwEPg84='],
  ['user-bob', 'Bob', 'bob', 'scrypt$16384$8$1$+XhB6eP5k0vHBL3QEyDsbw==$cgMqsfq5ylxHFhYVk0IhHqNLY3nmzcGICd56fEznPEk='],
  ['user-carol', 'Carol', 'carol', 'scrypt$16384$8$1$22kTQLGp8o0qAo5ujoGg4Q==$smmKdKpUj0stHfbv2gtLL0xCFr3d74rGzipKsPtKxlE='],
];

const SEED_BOARDS = [
  ['board-1', 'Board 1', ['user-alice', 'user-bob']],
  ['board-2', 'Board 2', ['user-alice', 'user-carol']],
];

// No foreign keys: an administrator deletes users with foreign keys off, so
// the server must cope with sessions and tokens whose user is gone anyway,
// and checks for the user on every lookup.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS users (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  username TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
  id_hash TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id);
CREATE TABLE IF NOT EXISTS api_tokens (
  token_hash TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ws_tickets (
  ticket_hash TEXT PRIMARY KEY,
  session_hash TEXT NOT NULL,
  expires_at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS boards (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS board_members (
  board_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  UNIQUE (board_id, user_id)
);
`;

function openDatabase(path) {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = OFF');
  db.exec(SCHEMA);

  // Seeding inserts what is missing and never replaces what is there, so it
  // is safe at every start and brings back a deleted seed user.
  const seed = db.transaction(() => {
    const user = db.prepare('INSERT OR IGNORE INTO users (id, name, username, password_hash) VALUES (?, ?, ?, ?)');
    for (const row of SEED_USERS) user.run(...row);
    const board = db.prepare('INSERT OR IGNORE INTO boards (id, name) VALUES (?, ?)');
    const member = db.prepare('INSERT OR IGNORE INTO board_members (board_id, user_id) VALUES (?, ?)');
    for (const [id, name, members] of SEED_BOARDS) {
      board.run(id, name);
      for (const userId of members) member.run(id, userId);
    }
  });
  seed();

  // Expired sessions are kept a day, so that a client is told "Session
  // expired" rather than "Invalid session" long after the fact.
  db.prepare('DELETE FROM sessions WHERE expires_at < ?').run(nowSecs() - 86400);
  db.prepare('DELETE FROM ws_tickets WHERE expires_at_ms < ?').run(Date.now() - 3600 * 1000);

  return new Store(db);
}

class Store {
  constructor(db) {
    this.db = db;
    this.q = {
      userByUsername: db.prepare('SELECT id, name, password_hash FROM users WHERE username = ?'),
      userById: db.prepare('SELECT id, name FROM users WHERE id = ?'),
      insertSession: db.prepare('INSERT INTO sessions (id_hash, user_id, expires_at) VALUES (?, ?, ?)'),
      session: db.prepare('SELECT user_id, expires_at FROM sessions WHERE id_hash = ?'),
      deleteSession: db.prepare('DELETE FROM sessions WHERE id_hash = ?'),
      deleteSessionTickets: db.prepare('DELETE FROM ws_tickets WHERE session_hash = ?'),
      insertToken: db.prepare('INSERT INTO api_tokens (token_hash, user_id, created_at) VALUES (?, ?, ?)'),
      tokenUser: db.prepare('SELECT user_id FROM api_tokens WHERE token_hash = ?'),
      insertTicket: db.prepare('INSERT INTO ws_tickets (ticket_hash, session_hash, expires_at_ms) VALUES (?, ?, ?)'),
      // Using a ticket up is one statement, so two processes (or two
      // upgrades) can never both get it.
      takeTicket: db.prepare('DELETE FROM ws_tickets WHERE ticket_hash = ? RETURNING session_hash, expires_at_ms'),
      member: db.prepare('SELECT 1 FROM board_members WHERE board_id = ? AND user_id = ?'),
    };
  }

  userForLogin(username) {
    return this.q.userByUsername.get(username);
  }

  user(id) {
    const row = this.q.userById.get(id);
    return row ? { id: row.id, name: row.name } : null;
  }

  // Returns the new session id; only its hash is stored.
  createSession(userId, ttlSecs) {
    const id = newSecret();
    this.q.insertSession.run(hashSecret(id), userId, nowSecs() + ttlSecs);
    return id;
  }

  // Looks a session id up: { status: 'ok', user, sessionHash, expiresAt }, or
  // { status: 'unknown' | 'expired' | 'user-not-found' }.
  lookupSession(id) {
    return this.lookupSessionHash(hashSecret(id));
  }

  lookupSessionHash(sessionHash) {
    const row = this.q.session.get(sessionHash);
    if (!row) return { status: 'unknown' };
    if (nowSecs() >= row.expires_at) return { status: 'expired' };
    const user = this.user(row.user_id);
    if (!user) return { status: 'user-not-found' };
    return { status: 'ok', user, sessionHash, expiresAt: row.expires_at };
  }

  // Deletes a session and the tickets it minted.
  deleteSession(sessionHash) {
    this.db.transaction(() => {
      this.q.deleteSession.run(sessionHash);
      this.q.deleteSessionTickets.run(sessionHash);
    })();
  }

  createToken(userId) {
    const token = newSecret();
    this.q.insertToken.run(hashSecret(token), userId, nowSecs());
    return token;
  }

  // { status: 'ok', user } or { status: 'unknown' | 'user-not-found' }.
  lookupToken(token) {
    const row = this.q.tokenUser.get(hashSecret(token));
    if (!row) return { status: 'unknown' };
    const user = this.user(row.user_id);
    return user ? { status: 'ok', user } : { status: 'user-not-found' };
  }

  createTicket(sessionHash, ttlSecs) {
    const ticket = newSecret();
    this.q.insertTicket.run(hashSecret(ticket), sessionHash, Date.now() + ttlSecs * 1000);
    return ticket;
  }

  // Uses a ticket up: { status: 'ok', user, sessionHash, expiresAt }, or
  // { status: 'unknown' | 'expired' | 'session-ended' }.
  takeTicket(ticket) {
    const row = this.q.takeTicket.get(hashSecret(ticket));
    if (!row) return { status: 'unknown' };
    if (Date.now() >= row.expires_at_ms) return { status: 'expired' };
    const session = this.lookupSessionHash(row.session_hash);
    if (session.status !== 'ok') return { status: 'session-ended' };
    return session;
  }

  isMember(boardId, userId) {
    return this.q.member.get(boardId, userId) !== undefined;
  }

  close() {
    this.db.close();
  }
}

module.exports = { openDatabase, hashSecret };
