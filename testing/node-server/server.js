'use strict';

// The board server of the workbook, in Node: plain `http` for the API and
// the page, `ws` for the sockets, better-sqlite3 for the database and
// ioredis for the bus between processes.
//
//   node server.js [--exercise N]
//
// N (1-10, default 10) is the stage of the course the server behaves as.

const http = require('node:http');
const { loadSettings, SettingError } = require('./lib/settings');

// How long shutdown waits for the sockets' closing handshakes.
const CLOSE_GRACE_MS = 1000;

function fail(message) {
  console.error(`error: ${message}`);
  process.exit(1);
}

function openStore(path) {
  const { openDatabase } = require('./lib/db');
  try {
    return openDatabase(path);
  } catch (error) {
    throw new SettingError('DATABASE_PATH', `cannot open ${JSON.stringify(path)}: ${error.message}`);
  }
}

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', (error) => {
      const problem = error.code === 'EADDRINUSE' ? `port ${port} is already in use` : error.message;
      reject(new SettingError('PORT', problem));
    });
    server.listen(port, '127.0.0.1', () => resolve(server.address().port));
  });
}

async function main() {
  // Settings first, before loading anything else: a bad one ends the
  // process as early as possible.
  const settings = loadSettings(process.env, process.argv.slice(2));
  const { createApp } = require('./lib/http');
  const { createSockets } = require('./lib/sockets');
  const { Rooms } = require('./lib/rooms');

  const store = openStore(settings.databasePath);
  let bus = null;
  if (settings.redisUrl) {
    const { Bus } = require('./lib/bus');
    bus = new Bus(settings.redisUrl);
    await bus.start();
  }
  const rooms = new Rooms(bus);

  const server = http.createServer();
  const sockets = createSockets({ settings, store, rooms, bus, server });
  server.on('request', createApp({ settings, store, sockets }));

  const port = await listen(server, settings.port);
  sockets.setPort(port);
  process.stdout.write(`listening on http://127.0.0.1:${port}\n`);
  console.error(`exercise ${settings.exercise}, database ${settings.databasePath}${bus ? ', with Redis' : ''}`);

  let stopping = false;
  async function stop(signal) {
    if (stopping) return;
    stopping = true;
    console.error(`${signal}: shutting down`);
    server.close();
    server.closeAllConnections();
    await sockets.shutdown(CLOSE_GRACE_MS);
    if (bus) await Promise.race([bus.close(), new Promise((resolve) => setTimeout(resolve, 300))]);
    store.close();
    process.exit(0);
  }
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error) => {
  if (error instanceof SettingError) fail(error.message);
  console.error(error);
  process.exit(1);
});
