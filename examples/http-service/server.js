#!/usr/bin/env node
// A recommendation service over a saved cfkit model, with no framework: node:http only.
//
//   node server.js model.cfk [--port 8080] [--host 127.0.0.1]
//
//   GET  /recommend?user=ID&k=10     a known user (an unknown one is served as a visitor)
//   POST /recommend                  {"items": [...], "k": 10, "include": [...], "exclude": [...]}
//   GET  /similar?item=ID&k=10       items like this one
//   GET  /health                     the model's type, item count and file checksum
//
// The model is reloaded on SIGHUP and whenever its file changes. The new one is swapped in between
// requests; the old one is disposed once its in-flight requests finish. A file that does not load
// (corrupt, half-copied) is refused and the old model keeps serving.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { load } = require('cfkit');

/** The model in service, and the ones retired but still answering requests begun before a swap. */
class ModelSlot {
  constructor(file, log) {
    this.file = path.resolve(file);
    this.log = log;
    this.current = null;
    this.loading = null;
  }

  /** Loads the file; on success swaps it in, on failure keeps the old model. Calls run one at a time. */
  reload() {
    const next = (this.loading ?? Promise.resolve()).then(() => this.loadOnce());
    this.loading = next.catch(() => undefined);
    return next;
  }

  async loadOnce() {
    const bytes = await fs.promises.readFile(this.file);
    const checksum = crypto.createHash('sha256').update(bytes).digest('hex');
    if (this.current && this.current.checksum === checksum) return false;
    let model;
    try {
      model = await load(this.file);
    } catch (err) {
      this.log(`refused ${this.file}: [${err.code}] ${err.message}; still serving ${this.current ? this.current.checksum.slice(0, 12) : 'nothing'}`);
      throw err;
    }
    const old = this.current;
    this.current = { model, checksum, loadedAt: new Date().toISOString(), inflight: 0, retired: false };
    this.log(`serving ${model.type} model ${checksum.slice(0, 12)} (${model.numItems} items)`);
    if (old) this.retire(old);
    return true;
  }

  retire(entry) {
    entry.retired = true;
    if (entry.inflight === 0) entry.model.dispose();
  }

  /** The current model for one request; call release() when the request is done. */
  acquire() {
    const entry = this.current;
    if (!entry) throw Object.assign(new Error('no model loaded'), { status: 503 });
    entry.inflight++;
    return {
      model: entry.model,
      release: () => {
        if (--entry.inflight === 0 && entry.retired) entry.model.dispose();
      },
    };
  }

  close() {
    if (this.current) this.retire(this.current);
    this.current = null;
  }
}

function intParam(value, fallback, name) {
  if (value === null || value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw Object.assign(new Error(`${name} must be an integer in [1, 1000]`), { status: 400 });
  return n;
}

async function readJson(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 1 << 20) throw Object.assign(new Error('request body over 1 MiB'), { status: 413 });
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch {
    throw Object.assign(new Error('the body is not valid JSON'), { status: 400 });
  }
}

const asRows = (recs) => {
  const scores = recs.scoresOf(0);
  return {
    items: recs.items(0).map((id, j) => ({ id, score: scores[j] })),
    fallback: recs.fallbackRows.length > 0,
    unknown: recs.unknownRows.length > 0,
  };
};

// With its length known, a reply goes out in one piece rather than chunked.
function reply(res, status, body) {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
  res.end(data);
}

async function route(slot, req, url) {
  if (req.method === 'GET' && url.pathname === '/health') {
    const e = slot.current;
    if (!e) throw Object.assign(new Error('no model loaded'), { status: 503 });
    return { type: e.model.type, items: e.model.numItems, checksum: e.checksum, loadedAt: e.loadedAt };
  }
  const { model, release } = slot.acquire();
  try {
    const k = intParam(url.searchParams.get('k'), 10, 'k');
    if (req.method === 'GET' && url.pathname === '/recommend') {
      const user = url.searchParams.get('user');
      if (!user) throw Object.assign(new Error('give ?user=ID'), { status: 400 });
      return { user, ...asRows(await model.recommendUsers([user], { k, unknown: 'ignore' })) };
    }
    if (req.method === 'POST' && url.pathname === '/recommend') {
      const body = await readJson(req);
      if (!Array.isArray(body.items)) throw Object.assign(new Error('the body needs "items": [...]'), { status: 400 });
      const opts = { k: intParam(body.k, k, 'k'), include: body.include, exclude: body.exclude, unknown: 'ignore' };
      return asRows(await model.recommendItems([body.items], opts));
    }
    if (req.method === 'GET' && url.pathname === '/similar') {
      const item = url.searchParams.get('item');
      if (!item) throw Object.assign(new Error('give ?item=ID'), { status: 400 });
      return { item, ...asRows(await model.similarItems([item], { k, unknown: 'ignore' })) };
    }
    throw Object.assign(new Error(`no route ${req.method} ${url.pathname}`), { status: 404 });
  } finally {
    release();
  }
}

/**
 * Starts the service; resolves once the model is loaded and the server listens. `watch` reloads
 * when the model file changes (the folder is watched: saves replace the file by a rename).
 */
async function createService(file, { port = 8080, host = '127.0.0.1', watch = true, log = console.error } = {}) {
  const slot = new ModelSlot(file, log);
  await slot.reload();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    route(slot, req, url).then(
      (body) => reply(res, 200, body),
      (err) => {
        // cfkit's E_INPUT is the client's mistake; anything else is the service's
        const status = err.status ?? (err.code === 'E_INPUT' ? 400 : 500);
        reply(res, status, { error: err.message, code: err.code });
      },
    );
  });
  await new Promise((resolve) => server.listen(port, host, resolve));
  let watcher;
  if (watch) {
    let timer;
    watcher = fs.watch(path.dirname(slot.file), (_event, name) => {
      if (name !== path.basename(slot.file)) return;
      clearTimeout(timer);
      timer = setTimeout(() => slot.reload().catch(() => undefined), 100); // a burst of events, one reload
    });
  }
  return {
    server,
    slot,
    port: server.address().port,
    reload: () => slot.reload(),
    close: async () => {
      watcher?.close();
      await new Promise((resolve) => server.close(resolve));
      slot.close();
    },
  };
}

module.exports = { createService, ModelSlot };

if (require.main === module) {
  // Under load, scoring runs on libuv's worker threads while this thread parses requests and writes
  // replies. Leave it a core: more workers than the other cores only add context switches (on a
  // 2-core VM, one worker served 6,700-7,000 requests/s where libuv's default of four served
  // 4,100-5,100). libuv reads it when its pool is first used, so it is set before any I/O.
  process.env.UV_THREADPOOL_SIZE ??= String(Math.max(1, require('node:os').availableParallelism() - 1));
  const args = process.argv.slice(2);
  const opt = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
  if (!args[0]) {
    console.error('usage: node server.js model.cfk [--port 8080] [--host 127.0.0.1]');
    process.exit(2);
  }
  createService(args[0], { port: Number(opt('--port', '8080')), host: opt('--host', '127.0.0.1') }).then(
    (service) => {
      console.error(`listening on http://${opt('--host', '127.0.0.1')}:${service.port}`);
      process.on('SIGHUP', () => service.reload().catch(() => undefined));
      for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => service.close().then(() => process.exit(0)));
    },
    (err) => {
      console.error(`cannot start: ${err.message}`);
      process.exit(1);
    },
  );
}
