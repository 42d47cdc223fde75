'use strict';

// Boards and who is in them. Each process keeps its own sockets per board;
// with a bus (exercise 10) the viewer counts live in Redis, one set per
// board, and room events are published for the other processes to deliver
// to their own sockets.

const { WebSocket } = require('ws');

function send(ws, frame) {
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
}

class Rooms {
  constructor(bus) {
    this.boards = new Map(); // boardId -> Set of this process's sockets
    this.bus = bus;
    if (bus) bus.onRoomEvent = (boardId, frame) => this.deliver(boardId, frame);
  }

  has(ws, boardId) {
    return ws.boards.has(boardId);
  }

  // Adds the socket to the board; resolves to the board's viewers after it.
  // With a bus the socket hears the board only once Redis has counted it,
  // so that events other processes published before the join (still on
  // their way here) do not reach it ahead of its `joined` answer.
  async join(ws, boardId) {
    const viewers = this.bus ? await this.bus.addViewer(boardId, ws.id) : null;
    if (!this.boards.has(boardId)) this.boards.set(boardId, new Set());
    this.boards.get(boardId).add(ws);
    ws.boards.add(boardId);
    return viewers ?? this.boards.get(boardId).size;
  }

  // Takes the socket out of the board; resolves to the viewers left.
  async leave(ws, boardId) {
    const sockets = this.boards.get(boardId);
    ws.boards.delete(boardId);
    if (sockets) {
      sockets.delete(ws);
      if (sockets.size === 0) this.boards.delete(boardId);
    }
    return this.bus ? this.bus.removeViewer(boardId, ws.id) : (sockets ? sockets.size : 0);
  }

  async viewers(boardId) {
    if (this.bus) return this.bus.viewers(boardId);
    return this.boards.get(boardId)?.size ?? 0;
  }

  // Sends a frame to everyone in the board but the sender, on every process.
  broadcast(boardId, frame, sender) {
    for (const ws of this.boards.get(boardId) ?? []) {
      if (ws !== sender) send(ws, frame);
    }
    if (this.bus) this.bus.publishRoomEvent(boardId, frame);
  }

  // A frame another process published: for this process's sockets in the board.
  deliver(boardId, frame) {
    for (const ws of this.boards.get(boardId) ?? []) send(ws, frame);
  }
}

module.exports = { Rooms, send };
